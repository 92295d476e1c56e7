-- apikey-redis cache invalidation: replaces the entry with a tombstone carrying the newest known
-- version (never lowering it), then publishes "<lookup id> <version>" to every instance.
-- KEYS[1] entry. ARGV: now us, version, deadline us, lifetime ms, channel, lookup id.
local now = tonumber(ARGV[1])
local version, deadline, life = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = redis.call('HMGET', KEYS[1], 'v', 'd', 'r')
if cur[1] and tonumber(cur[2]) > now then
  version = math.max(version, tonumber(cur[1]))
  if not cur[3] and tonumber(cur[2]) > deadline then
    -- A live tombstone that outlasts this one keeps its end.
    deadline = tonumber(cur[2])
    life = math.max(life, redis.call('PTTL', KEYS[1]))
  end
end
local v = string.format('%.0f', version)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', v, 'd', string.format('%.0f', deadline))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', life))
redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' ' .. v)
return 1
