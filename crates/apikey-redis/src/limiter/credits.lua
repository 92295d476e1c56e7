-- apikey-redis credits: read, top up or set one credit balance, refills applied first (as
-- shared.lua applies them), atomically.
-- KEYS[1] the credits hash {b, w}
-- ARGV[1] mode (1 one-time, 2 refill to, 3 refill by)   ARGV[2] initial
-- ARGV[3] current refill window id                      ARGV[4] refill amount
-- ARGV[5] op: 0 read, 1 top up, 2 set                   ARGV[6] the op's amount
-- Returns the balance after, or an error reply when a top-up would pass 10^15 (nothing written).

local MAX_CREDITS = 1000000000000000
local mode, initial = tonumber(ARGV[1]), tonumber(ARGV[2])
local window, amount = tonumber(ARGV[3]), tonumber(ARGV[4])
local op, value = tonumber(ARGV[5]), tonumber(ARGV[6])

local balance
local s = redis.call('HMGET', KEYS[1], 'b', 'w')
if not s[1] then
  balance = initial
else
  balance = tonumber(s[1])
  local w = tonumber(s[2])
  if window > w then
    if mode == 2 then
      balance = amount
    elseif mode == 3 then
      balance = math.min(balance + amount * (window - w), MAX_CREDITS)
    end
  end
end
if op == 1 then
  balance = balance + value
elseif op == 2 then
  balance = value
end
if balance > MAX_CREDITS then
  return redis.error_reply('a balance is at most 10^15')
end
if op > 0 then
  redis.call('HSET', KEYS[1], 'b', string.format('%.0f', balance), 'w', string.format('%.0f', window))
end
return string.format('%.0f', balance)
