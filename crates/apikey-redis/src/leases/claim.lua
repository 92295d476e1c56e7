-- Claims a job: KEYS[1] its hash, KEYS[2] the set of job names (same hash tag).
-- ARGV: job name, period (decimal), holder, now (ms), until (ms).
-- The fence if claimed, nil if the period is done or a lease is live at the caller's `now`
-- (never Redis TIME: tests move time by hand, and instances compare with their own clocks).
local v = redis.call('HMGET', KEYS[1], 'p', 'h', 'u')
if v[1] and not period_lt(v[1], ARGV[2]) then return false end
if v[2] and v[3] and tonumber(v[3]) > tonumber(ARGV[4]) then return false end
redis.call('SADD', KEYS[2], ARGV[1])
local fence = redis.call('HINCRBY', KEYS[1], 'f', 1)
redis.call('HSET', KEYS[1], 'h', ARGV[3], 'u', ARGV[5])
return fence
