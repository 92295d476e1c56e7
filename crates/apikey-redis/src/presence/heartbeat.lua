-- apikey-redis presence: records that an instance is live until now + ttl (Redis's clock, so the
-- instances' clocks never matter) and drops the instances whose presence ran out.
-- KEYS[1] live (zset: id -> deadline ms), KEYS[2] info (hash: id -> json).
-- ARGV: instance id, ttl ms, name ('' for none). Returns Redis's time in ms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', now))
for _, id in ipairs(gone) do
  redis.call('HDEL', KEYS[2], id)
end
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', now))
end
local started = now
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  started = cjson.decode(cur).s
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({n = ARGV[3], s = started, l = now}))
return now
