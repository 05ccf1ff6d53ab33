-- KEYS[4] products, KEYS[5] room record. ARGV[4] product id, ARGV[5] product, ARGV[6] 'create' or
-- 'update', ARGV[7] event body. Returns the seq; -1 id taken, -2 no room, -3 no such product.
if redis.call('EXISTS', KEYS[5]) == 0 then return -2 end
local exists = redis.call('HEXISTS', KEYS[4], ARGV[4]) == 1
if ARGV[6] == 'create' and exists then return -1 end
if ARGV[6] == 'update' and not exists then return -3 end
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
return publish(ARGV[7])
