-- KEYS[4] products, KEYS[5] state. ARGV[4] product id, ARGV[5] product.removed body.
-- Unpins the product if it was pinned. Returns ok(last seq), or err('product_not_found').
if redis.call('HDEL', KEYS[4], ARGV[4]) == 0 then return err('product_not_found') end
local seq = publish(ARGV[5])
if redis.call('HGET', KEYS[5], 'pin') == ARGV[4] then
  redis.call('HDEL', KEYS[5], 'pin')
  seq = publish(packed_map('type', cmsgpack.pack('product.unpinned'), 'by', cmsgpack.pack('system')))
end
return ok(seq)
