-- apikey-redis limiter: one all-or-nothing decision over a key's GCRA rate, its endpoint's GCRA
-- rate and its lineage's calendar quota. Mirrors apikey_core::limit::gcra (microseconds).
--
-- KEYS[1] rate tat, KEYS[2] endpoint tat, KEYS[3] quota counter (one hash tag: one slot)
-- ARGV[1] now in microseconds, or "" to read the Redis clock (TIME)
-- ARGV[2] cost
-- ARGV[3] rate interval us (0: no rate)      ARGV[4] rate burst
-- ARGV[5] endpoint interval us (0: none)     ARGV[6] endpoint burst
-- ARGV[7] quota limit (0: no quota)          ARGV[8] quota key lifetime in ms
-- Lease mode only (absent in exact mode, which then behaves exactly as before):
-- ARGV[9]  rate refund: move the rate tat back by this many us (0: none), never before now
-- ARGV[10] endpoint refund: the same for the endpoint tat
-- ARGV[11] quota refund: decrement the quota counter by this many units, never below 0
-- ARGV[12] fallback cost: if ARGV[2] is refused, decide for this cost instead (0: no fallback)
-- Returns { admitted 1|0, now, rate tat before | nil, endpoint tat before | nil, quota used before }
-- and, in lease mode, a sixth element: the cost decided (ARGV[2] or ARGV[12]). "Before" means
-- after any refund: the refunds are committed whatever the decision.

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local cost = tonumber(ARGV[2])
local I64_MAX = 9223372036854775807
local lease_mode = ARGV[12] ~= nil

-- A stored tat at or before now counts as no tat (see next_tat), so keeping the key longer changes
-- no decision. Redis expires keys on its own clock, while `now` is the caller's: the 60 s margin
-- keeps a key alive while a caller's clock runs behind Redis's (skew, or a test's manual clock),
-- instead of forgetting debt the caller has not yet reached.
local TAT_KEEP_MS = 60000
local function set_tat(key, tat)
  redis.call('SET', key, string.format('%.0f', tat),
    'PX', string.format('%.0f', math.ceil((tat - now) / 1000) + TAT_KEEP_MS))
end

if lease_mode then
  -- Units charged up front for a lease and never handed out come back before deciding.
  local function refund_tat(key, us)
    if us <= 0 then return end
    local stored = redis.call('GET', key)
    if not stored then return end
    local tat = tonumber(stored) - us
    if tat <= now then
      redis.call('DEL', key)
    else
      set_tat(key, tat)
    end
  end
  refund_tat(KEYS[1], tonumber(ARGV[9]))
  refund_tat(KEYS[2], tonumber(ARGV[10]))
  local q_refund = tonumber(ARGV[11])
  if q_refund > 0 then
    local stored = redis.call('GET', KEYS[3])
    if stored then
      redis.call('DECRBY', KEYS[3], math.min(q_refund, tonumber(stored)))
    end
  end
end

local r_int, e_int, q_limit = tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[7])
local r_burst, e_burst = tonumber(ARGV[4]), tonumber(ARGV[6])
local r_tat, e_tat, used = false, false, 0
if r_int > 0 then
  local stored = redis.call('GET', KEYS[1])
  r_tat = stored and tonumber(stored) or false
end
if e_int > 0 then
  local stored = redis.call('GET', KEYS[2])
  e_tat = stored and tonumber(stored) or false
end
if q_limit > 0 then
  used = tonumber(redis.call('GET', KEYS[3]) or '0')
end

local function next_tat(tat, interval, c)
  local base = now
  if tat and tat > now then base = tat end
  return base + interval * c
end

-- Whether every limit admits c units.
local function fits(c)
  local ok = true
  if r_int > 0 then
    local n = next_tat(r_tat, r_int, c)
    ok = ok and (n - r_int * r_burst <= now) and n < I64_MAX
  end
  if e_int > 0 then
    local n = next_tat(e_tat, e_int, c)
    ok = ok and (n - e_int * e_burst <= now) and n < I64_MAX
  end
  if q_limit > 0 then
    ok = ok and (used + c <= q_limit)
  end
  return ok
end

local decided = cost
local admitted = fits(cost)
if not admitted and lease_mode then
  local fallback = tonumber(ARGV[12])
  if fallback > 0 and fallback < cost then
    decided = fallback
    admitted = fits(fallback)
  end
end

if admitted then
  if r_int > 0 then set_tat(KEYS[1], next_tat(r_tat, r_int, decided)) end
  if e_int > 0 then set_tat(KEYS[2], next_tat(e_tat, e_int, decided)) end
  if q_limit > 0 then
    redis.call('INCRBY', KEYS[3], decided)
    redis.call('PEXPIRE', KEYS[3], ARGV[8])
  end
end
if lease_mode then
  return { admitted and 1 or 0, now, r_tat, e_tat, used, decided }
end
return { admitted and 1 or 0, now, r_tat, e_tat, used }
