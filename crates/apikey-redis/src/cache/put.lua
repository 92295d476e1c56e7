-- apikey-redis cache fill: writes the record unless a live entry or tombstone has a newer version.
-- KEYS[1] entry. ARGV: now us, version, deadline us, record JSON, lifetime ms, seal.
-- The hash holds v (version), d (deadline, clock microseconds), r (the record; absent in a
-- tombstone) and s (the seal over lookup id, v, d and r, checked by every reader).
local cur = redis.call('HMGET', KEYS[1], 'v', 'd')
if cur[1] and tonumber(cur[2]) > tonumber(ARGV[1]) and tonumber(ARGV[2]) < tonumber(cur[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'r', ARGV[4], 's', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
