-- Prepended to the lease scripts that compare periods. Periods are signed 64-bit integers, which
-- Lua numbers (doubles) hold exactly only up to 2^53, so they travel and are stored as canonical
-- decimal strings and compared as such: a sign, then the length, then the digits.
local function period_lt(a, b)
  local neg_a, neg_b = a:sub(1, 1) == '-', b:sub(1, 1) == '-'
  if neg_a ~= neg_b then return neg_a end
  if #a ~= #b then
    if neg_a then return #a > #b end
    return #a < #b
  end
  if neg_a then return a > b end
  return a < b
end
