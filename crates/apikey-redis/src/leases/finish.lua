-- Ends a lease: KEYS[1] the job's hash. ARGV: fence, holder, at (ms), '1' for success or '0' for
-- failure, period (decimal), error message. 1 if the lease was the caller's, else 0 and nothing
-- written. A success records its period unless a later one is recorded, and clears the error.
local v = redis.call('HMGET', KEYS[1], 'f', 'h', 'p')
if v[1] ~= ARGV[1] or v[2] ~= ARGV[2] then return 0 end
if ARGV[4] == '1' then
  if not v[3] or period_lt(v[3], ARGV[5]) then
    redis.call('HSET', KEYS[1], 'p', ARGV[5])
  end
  redis.call('HDEL', KEYS[1], 'e')
else
  redis.call('HSET', KEYS[1], 'e', ARGV[6])
end
redis.call('HSET', KEYS[1], 'r', ARGV[3])
redis.call('HDEL', KEYS[1], 'h', 'u')
return 1
