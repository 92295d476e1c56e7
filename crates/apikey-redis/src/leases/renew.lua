-- Extends a lease: KEYS[1] the job's hash. ARGV: fence, holder, until (ms).
-- 1 if the lease is still the caller's (same fence and holder), else 0 and nothing written.
local v = redis.call('HMGET', KEYS[1], 'f', 'h')
if v[1] ~= ARGV[1] or v[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'u', ARGV[3])
return 1
