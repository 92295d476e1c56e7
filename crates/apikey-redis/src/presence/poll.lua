-- apikey-redis confirmation state: for every instance asked, whether it acknowledged ('a'), is
-- still live without having answered ('m'), or let its presence run out ('d').
-- KEYS[1] live, KEYS[2] want:<req>, KEYS[3] ack:<req>. Returns id, state, json triples.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want = redis.call('HGETALL', KEYS[2])
local out = {}
for i = 1, #want, 2 do
  local id = want[i]
  local state = 'd'
  if redis.call('SISMEMBER', KEYS[3], id) == 1 then
    state = 'a'
  else
    local deadline = redis.call('ZSCORE', KEYS[1], id)
    if deadline and tonumber(deadline) >= now then
      state = 'm'
    end
  end
  out[#out + 1] = id
  out[#out + 1] = state
  out[#out + 1] = want[i + 1]
end
return out
