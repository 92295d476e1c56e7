-- apikey-redis limiter: one all-or-nothing decision over a key's GCRA rate, its endpoint's GCRA
-- rate and its lineage's calendar quota. Mirrors apikey_core::limit::gcra (microseconds).
--
-- KEYS[1] rate tat, KEYS[2] endpoint tat, KEYS[3] quota counter (one hash tag: one slot)
-- ARGV[1] now in microseconds, or "" to read the Redis clock (TIME)
-- ARGV[2] cost
-- ARGV[3] rate interval us (0: no rate)      ARGV[4] rate burst
-- ARGV[5] endpoint interval us (0: none)     ARGV[6] endpoint burst
-- ARGV[7] quota limit (0: no quota)          ARGV[8] quota key lifetime in ms
-- Returns { admitted 1|0, now, rate tat before | nil, endpoint tat before | nil, quota used before }

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local cost = tonumber(ARGV[2])
local I64_MAX = 9223372036854775807

local function step(key, interval, burst)
  local stored = redis.call('GET', key)
  local tat = stored and tonumber(stored) or false
  local base = now
  if tat and tat > now then base = tat end
  local new_tat = base + interval * cost
  local ok = (new_tat - interval * burst <= now) and new_tat < I64_MAX
  return tat, new_tat, ok
end

local admitted = true
local r_tat, r_new, e_tat, e_new = false, 0, false, 0
local r_int, e_int = tonumber(ARGV[3]), tonumber(ARGV[5])
if r_int > 0 then
  local ok
  r_tat, r_new, ok = step(KEYS[1], r_int, tonumber(ARGV[4]))
  admitted = admitted and ok
end
if e_int > 0 then
  local ok
  e_tat, e_new, ok = step(KEYS[2], e_int, tonumber(ARGV[6]))
  admitted = admitted and ok
end
local q_limit, used = tonumber(ARGV[7]), 0
if q_limit > 0 then
  used = tonumber(redis.call('GET', KEYS[3]) or '0')
  admitted = admitted and (used + cost <= q_limit)
end

if admitted then
  if r_int > 0 then
    redis.call('SET', KEYS[1], string.format('%.0f', r_new),
      'PX', string.format('%.0f', math.ceil((r_new - now) / 1000) + 1))
  end
  if e_int > 0 then
    redis.call('SET', KEYS[2], string.format('%.0f', e_new),
      'PX', string.format('%.0f', math.ceil((e_new - now) / 1000) + 1))
  end
  if q_limit > 0 then
    redis.call('INCRBY', KEYS[3], cost)
    redis.call('PEXPIRE', KEYS[3], ARGV[8])
  end
end
return { admitted and 1 or 0, now, r_tat, e_tat, used }
