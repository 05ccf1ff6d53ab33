-- End a sale early or cancel it. KEYS[4] sales, KEYS[5] flags, KEYS[6] told.
-- ARGV[4] sale id, ARGV[5] 'ended' | 'cancelled'. The announcement (and the sale.ended webhook)
-- follows from sale_tick.lua, which the caller runs next. Returns ok() (None), or
-- err('sale_not_found'), or err('sale_finished') if it had already finished.
if not redis.call('HGET', KEYS[4], ARGV[4]) then return err('sale_not_found') end
local told = redis.call('HGET', KEYS[6], ARGV[4])
if redis.call('HGET', KEYS[5], ARGV[4]) or told == 'ended' or told == 'cancelled' then
  return err('sale_finished')
end
redis.call('HSET', KEYS[5], ARGV[4], ARGV[5])
return ok()
