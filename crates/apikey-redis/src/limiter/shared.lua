-- apikey-redis shared decision: a key's own limits (as decide.lua) and every pool it belongs to
-- (rate, calendar quota, credits), decided all-or-nothing in one script. Mirrors
-- apikey_core::limit (gcra, quota_verdict, CreditPlan::balance, credit_verdict), in microseconds.
--
-- Every key shares the pool root's hash tag (one slot on Cluster).
-- KEYS[1] own rate tat, KEYS[2] own endpoint tat, KEYS[3] own quota counter
-- KEYS[3+3i+1..3] pool i: rate tat, quota counter, credits hash {b = balance, w = refill window}
-- ARGV[1] now in microseconds, or "" for Redis TIME     ARGV[2] cost
-- ARGV[3..8] own: rate interval, burst, endpoint interval, burst, quota limit, quota ttl ms
-- ARGV[9] number of pools; then 8 per pool: rate interval (0: none), burst, quota limit (0: none),
--   quota ttl ms, credits mode (0 none, 1 one-time, 2 refill to, 3 refill by), initial,
--   current refill window id, refill amount
-- then ARGV[10+8n] reservation id ("" for none), ARGV[11+8n] its estimate, ARGV[12+8n] its ttl
--   ms; with a reservation, KEYS[4+3n] is its hash, credits are charged the estimate instead of
--   the cost, and the hash {est} is written (with the ttl) when the decision admits.
-- Returns { admitted 1|0, now, own rate tat|nil, own endpoint tat|nil, own quota used,
--           then per pool: rate tat|nil, quota used, credit balance (after refills) }

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local cost = tonumber(ARGV[2])
local I64_MAX = 9223372036854775807
local MAX_CREDITS = 1000000000000000
local TAT_KEEP_MS = 60000

local function set_tat(key, tat)
  redis.call('SET', key, string.format('%.0f', tat),
    'PX', string.format('%.0f', math.ceil((tat - now) / 1000) + TAT_KEEP_MS))
end
local function next_tat(tat, interval)
  local base = now
  if tat and tat > now then base = tat end
  return base + interval * cost
end
local function rate_fits(tat, interval, burst)
  local n = next_tat(tat, interval)
  return (n - interval * burst <= now) and n < I64_MAX
end
local function read_tat(key, interval)
  if interval <= 0 then return false end
  local stored = redis.call('GET', key)
  return stored and tonumber(stored) or false
end

-- The key's own limits.
local r_int, r_burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local e_int, e_burst = tonumber(ARGV[5]), tonumber(ARGV[6])
local q_limit = tonumber(ARGV[7])
local r_tat, e_tat = read_tat(KEYS[1], r_int), read_tat(KEYS[2], e_int)
local used = 0
if q_limit > 0 then used = tonumber(redis.call('GET', KEYS[3]) or '0') end
local ok = true
if r_int > 0 then ok = ok and rate_fits(r_tat, r_int, r_burst) end
if e_int > 0 then ok = ok and rate_fits(e_tat, e_int, e_burst) end
if q_limit > 0 then ok = ok and (used + cost <= q_limit) end

-- The pools.
local n = tonumber(ARGV[9])
local res_id = ARGV[10 + 8 * n]
local credit_cost = cost
if res_id ~= '' then credit_cost = tonumber(ARGV[11 + 8 * n]) end
local pools = {}
for i = 0, n - 1 do
  local a = 9 + i * 8
  local p = {
    rk = KEYS[4 + i * 3], qk = KEYS[5 + i * 3], ck = KEYS[6 + i * 3],
    int = tonumber(ARGV[a + 1]), burst = tonumber(ARGV[a + 2]),
    q_limit = tonumber(ARGV[a + 3]), q_ttl = ARGV[a + 4],
    mode = tonumber(ARGV[a + 5]), initial = tonumber(ARGV[a + 6]),
    window = tonumber(ARGV[a + 7]), amount = tonumber(ARGV[a + 8]),
    used = 0, balance = 0,
  }
  p.tat = read_tat(p.rk, p.int)
  if p.int > 0 then ok = ok and rate_fits(p.tat, p.int, p.burst) end
  if p.q_limit > 0 then
    p.used = tonumber(redis.call('GET', p.qk) or '0')
    ok = ok and (p.used + cost <= p.q_limit)
  end
  if p.mode > 0 then
    local s = redis.call('HMGET', p.ck, 'b', 'w')
    if not s[1] then
      p.balance = p.initial
    else
      p.balance = tonumber(s[1])
      local w = tonumber(s[2])
      if p.window > w then
        if p.mode == 2 then
          p.balance = p.amount
        elseif p.mode == 3 then
          p.balance = math.min(p.balance + p.amount * (p.window - w), MAX_CREDITS)
        end
      end
    end
    ok = ok and (p.balance >= credit_cost)
  end
  pools[i + 1] = p
end

if ok then
  if r_int > 0 then set_tat(KEYS[1], next_tat(r_tat, r_int)) end
  if e_int > 0 then set_tat(KEYS[2], next_tat(e_tat, e_int)) end
  if q_limit > 0 then
    redis.call('INCRBY', KEYS[3], cost)
    redis.call('PEXPIRE', KEYS[3], ARGV[8])
  end
  for _, p in ipairs(pools) do
    if p.int > 0 then set_tat(p.rk, next_tat(p.tat, p.int)) end
    if p.q_limit > 0 then
      redis.call('INCRBY', p.qk, cost)
      redis.call('PEXPIRE', p.qk, p.q_ttl)
    end
    if p.mode > 0 then
      -- Credits never expire: a balance is money.
      redis.call('HSET', p.ck, 'b', string.format('%.0f', p.balance - credit_cost),
        'w', string.format('%.0f', p.window))
    end
  end
  if res_id ~= '' then
    local rk = KEYS[4 + 3 * n]
    local ttl_ms = tonumber(ARGV[12 + 8 * n])
    -- The deadline in the caller's time (settle.lua compares it); Redis drops the hash a minute
    -- after, on its own clock.
    redis.call('HSET', rk, 'est', string.format('%.0f', credit_cost),
      'exp', string.format('%.0f', now + ttl_ms * 1000))
    redis.call('PEXPIRE', rk, string.format('%.0f', ttl_ms + TAT_KEEP_MS))
  end
end

local reply = { ok and 1 or 0, now, r_tat, e_tat, used }
for _, p in ipairs(pools) do
  reply[#reply + 1] = p.tat
  reply[#reply + 1] = p.used
  reply[#reply + 1] = string.format('%.0f', p.balance)
end
return reply
