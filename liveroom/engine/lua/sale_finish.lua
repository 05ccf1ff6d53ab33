-- End a sale early or cancel it. KEYS[4] sales, KEYS[5] flags, KEYS[6] told.
-- ARGV[4] sale id, ARGV[5] 'ended' | 'cancelled'. The announcement (and the sale.ended webhook)
-- follows from sale_tick.lua, which the caller runs next. Returns 1, 0 if it had already
-- finished, -1 for an unknown sale.
if not redis.call('HGET', KEYS[4], ARGV[4]) then return -1 end
local told = redis.call('HGET', KEYS[6], ARGV[4])
if redis.call('HGET', KEYS[5], ARGV[4]) or told == 'ended' or told == 'cancelled' then
  return 0
end
redis.call('HSET', KEYS[5], ARGV[4], ARGV[5])
return 1
