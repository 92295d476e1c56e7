-- apikey-redis settle: one credit reservation settled at its actual cost, once. The difference
-- to the estimate is refunded, or charged on top as far as the smallest balance allows (so every
-- pool is charged the same); the reservation keeps the answer until it expires, so a retried or
-- concurrent settle gets the same one. Mirrors apikey_core::limit::settle_amounts.
-- KEYS[1] the reservation hash {est, exp, done}; KEYS[2..] the credit hashes {b, w} it charged
-- ARGV[1] the actual cost; ARGV[2] now in microseconds, or "" for Redis TIME (past `exp` the
--   reservation has expired, settled at its estimate); then 4 per credit hash: mode (1 one-time,
--   2 to, 3 by), initial, current refill window id, refill amount
-- Returns { 0 (unknown or expired) | 1 (settled now) | 2 (settled before), charged }

local MAX_CREDITS = 1000000000000000
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local r = redis.call('HMGET', KEYS[1], 'est', 'done', 'exp')
if not r[1] or tonumber(r[3]) <= now then return { 0, 0 } end
if r[2] then return { 2, tonumber(r[2]) } end
local est, actual = tonumber(r[1]), tonumber(ARGV[1])

local balances, windows = {}, {}
local smallest = MAX_CREDITS
for i = 2, #KEYS do
  local a = 2 + (i - 2) * 4
  local mode, initial = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local window, amount = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local s = redis.call('HMGET', KEYS[i], 'b', 'w')
  local b
  if not s[1] then
    b = initial
  else
    b = tonumber(s[1])
    local w = tonumber(s[2])
    if window > w then
      if mode == 2 then b = amount elseif mode == 3 then b = math.min(b + amount * (window - w), MAX_CREDITS) end
    end
  end
  balances[i], windows[i] = b, window
  if b < smallest then smallest = b end
end

local charged, extra, refund
if actual <= est then
  charged, extra, refund = actual, 0, est - actual
else
  extra = math.min(actual - est, smallest)
  charged, refund = est + extra, 0
end
for i = 2, #KEYS do
  local b = math.min(balances[i] - extra + refund, MAX_CREDITS)
  redis.call('HSET', KEYS[i], 'b', string.format('%.0f', b), 'w', string.format('%.0f', windows[i]))
end
redis.call('HSET', KEYS[1], 'done', string.format('%.0f', charged))
return { 1, charged }
