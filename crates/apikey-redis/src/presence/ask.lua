-- apikey-redis confirmation request: snapshots the live instances (with what is known of them),
-- records the request as pending (so an instance that resubscribes applies it too) and publishes
-- it on the invalidation channel.
-- KEYS[1] live, KEYS[2] info, KEYS[3] pending (zset: "req lookup version" -> expiry ms),
-- KEYS[4] want:<req> (hash: id -> json). ARGV: request id, lookup id, version, keep ms, channel.
-- Returns how many instances were asked.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. string.format('%.0f', now))
local live = redis.call('ZRANGEBYSCORE', KEYS[1], string.format('%.0f', now), '+inf')
for _, id in ipairs(live) do
  redis.call('HSET', KEYS[4], id, redis.call('HGET', KEYS[2], id) or '{}')
end
if #live > 0 then
  redis.call('PEXPIRE', KEYS[4], keep)
end
local msg = ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3]
redis.call('ZADD', KEYS[3], string.format('%.0f', now + keep), msg)
redis.call('PUBLISH', ARGV[5], 'confirm ' .. msg)
return #live
