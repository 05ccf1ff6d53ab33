-- KEYS[4] state, KEYS[5] products, KEYS[6] room record. ARGV[4] product id ('' to unpin), ARGV[5] who.
-- Events (same shapes as liveroom/events.py):
--   {type='product.pinned', product=<product as stored>, by=ARGV[5]}
--   {type='product.unpinned', by=ARGV[5]}
-- Returns ok(seq), ok(false) (None) when unpinning with nothing pinned, err('product_not_found')
-- or err('room_not_found').
if redis.call('EXISTS', KEYS[6]) == 0 then return err('room_not_found') end
if ARGV[4] == '' then
  if redis.call('HDEL', KEYS[4], 'pin') == 0 then return ok(false) end
  return ok(publish(packed_map(
    'type', cmsgpack.pack('product.unpinned'), 'by', cmsgpack.pack(ARGV[5]))))
end
local product = redis.call('HGET', KEYS[5], ARGV[4])
if not product then return err('product_not_found') end
redis.call('HSET', KEYS[4], 'pin', ARGV[4])
return ok(publish(packed_map(
  'type', cmsgpack.pack('product.pinned'), 'product', product, 'by', cmsgpack.pack(ARGV[5]))))
