-- Gives a lease up: KEYS[1] the job's hash. ARGV: fence, holder.
-- Clears the holder if the lease is still the caller's; the period stays due.
local v = redis.call('HMGET', KEYS[1], 'f', 'h')
if v[1] ~= ARGV[1] or v[2] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], 'h', 'u')
return 1
