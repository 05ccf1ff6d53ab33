-- KEYS[4] products, KEYS[5] room record. ARGV[4] product id, ARGV[5] product, ARGV[6] 'create' or
-- 'update', ARGV[7] event body. Returns ok(seq), or err('room_not_found'), err('product_exists')
-- (create, id taken), err('product_not_found') (update, no such product).
if redis.call('EXISTS', KEYS[5]) == 0 then return err('room_not_found') end
local exists = redis.call('HEXISTS', KEYS[4], ARGV[4]) == 1
if ARGV[6] == 'create' and exists then return err('product_exists') end
if ARGV[6] == 'update' and not exists then return err('product_not_found') end
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
return ok(publish(ARGV[7]))
