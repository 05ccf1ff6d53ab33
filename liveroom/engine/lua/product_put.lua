-- KEYS[4] products, KEYS[5] room record. ARGV[4] product id, ARGV[5] product, ARGV[6] 'create' or
-- 'update', ARGV[7] '1' to keep the stock the stored product has (purchases may have taken
-- some since the caller read it). Event (events.product_added / product_updated):
--   {type='product.added' | 'product.updated', product=<the product as stored>}
-- Returns ok(seq), or err('room_not_found'), err('product_exists') (create, id taken),
-- err('product_not_found') (update, no such product).
if redis.call('EXISTS', KEYS[5]) == 0 then return err('room_not_found') end
local old = redis.call('HGET', KEYS[4], ARGV[4])
if ARGV[6] == 'create' and old then return err('product_exists') end
if ARGV[6] == 'update' and not old then return err('product_not_found') end
local blob = ARGV[5]
if ARGV[7] == '1' and old then
  local product = cmsgpack.unpack(blob)
  product.stock = cmsgpack.unpack(old).stock
  blob = cmsgpack.pack(product)
end
redis.call('HSET', KEYS[4], ARGV[4], blob)
local kind = 'product.updated'
if ARGV[6] == 'create' then kind = 'product.added' end
return ok(publish(packed_map('type', cmsgpack.pack(kind), 'product', blob)))
