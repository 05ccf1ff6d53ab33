-- KEYS[4] state, KEYS[5] products, KEYS[6] room record. ARGV[4] product id ('' to unpin), ARGV[5] who.
-- Events (same shapes as liveroom/events.py):
--   {type='product.pinned', product=<product as stored>, by=ARGV[5]}
--   {type='product.unpinned', by=ARGV[5]}
-- Returns the seq; 0 when unpinning with nothing pinned; -1 for an unknown product; -2 no room.
if redis.call('EXISTS', KEYS[6]) == 0 then return -2 end
if ARGV[4] == '' then
  if redis.call('HDEL', KEYS[4], 'pin') == 0 then return 0 end
  return publish(packed_map('type', cmsgpack.pack('product.unpinned'), 'by', cmsgpack.pack(ARGV[5])))
end
local product = redis.call('HGET', KEYS[5], ARGV[4])
if not product then return -1 end
redis.call('HSET', KEYS[4], 'pin', ARGV[4])
return publish(packed_map(
  'type', cmsgpack.pack('product.pinned'), 'product', product, 'by', cmsgpack.pack(ARGV[5])))
