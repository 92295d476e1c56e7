-- apikey-redis limiter, batched exact decisions: `decide` (decide.lua as a function, prepended
-- by batch.rs) runs once per decision, in order, inside this one atomic script.
--
-- ARGV[1] the number of decisions n; then for decision i (0-based):
--   KEYS[3i+1 .. 3i+3]   its three keys, as decide.lua's KEYS[1..3]
--   ARGV[2+8i .. 9+8i]   its eight arguments, as decide.lua's ARGV[1..8]
-- Returns n replies, each what decide.lua returns in exact mode.

local n = tonumber(ARGV[1])
local out = {}
for i = 0, n - 1 do
  local k = { KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3] }
  local a = {}
  for j = 1, 8 do
    a[j] = ARGV[1 + 8 * i + j]
  end
  out[i + 1] = decide(k, a)
end
return out
