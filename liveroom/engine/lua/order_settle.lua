-- Settle a reserved order. KEYS[4] orders, KEYS[5] sale stock, KEYS[6] buyers,
-- KEYS[7] reservation expiry, KEYS[8] outbox, KEYS[9] outbox due, KEYS[10] outbox seq,
-- KEYS[11] products. ARGV[4] order id, ARGV[5] 'paid' | 'cancelled' | 'expired', ARGV[6] by,
-- ARGV[7] '1' to settle only if its reservation is due (the expiry sweep).
-- Returns ok(order) once it has that status (settled now, or before by the same outcome),
-- ok(false) (None) when ARGV[7] asked for a due one and it is not due yet,
-- err('order_not_found'), or err('order_settled', status) when it was settled otherwise.
-- Cancelled and expired orders give their units back: to their sale, or, for a product bought
-- outside a sale, to the product (announced: {type='product.updated', product=...}).
-- The buyer alone is told (events.order_updated): {type='order.updated', to=user, order=...}.
local blob = redis.call('HGET', KEYS[4], ARGV[4])
if not blob then return err('order_not_found') end
local order = cmsgpack.unpack(blob)
local now = now_ms()
if order.status == ARGV[5] then return ok(blob) end
if order.status ~= 'reserved' then return err('order_settled', order.status) end
if ARGV[7] == '1' and order.expires_at > now then return ok(false) end
order.status = ARGV[5]
order.settled_at = now
order.settled_by = ARGV[6]
if ARGV[5] ~= 'paid' then
  if order.sale_id then
    redis.call('HINCRBY', KEYS[5], order.sale_id, order.quantity)
    redis.call('HINCRBY', KEYS[6], order.sale_id .. '|' .. order.user_id, -order.quantity)
  else
    local product = redis.call('HGET', KEYS[11], order.product_id)
    if product then
      product = cmsgpack.unpack(product)
      product.stock = (tonumber(product.stock) or 0) + order.quantity
      product = cmsgpack.pack(product)
      redis.call('HSET', KEYS[11], order.product_id, product)
      publish(packed_map('type', cmsgpack.pack('product.updated'), 'product', product))
    end
  end
end
redis.call('ZREM', KEYS[7], ARGV[4])
blob = cmsgpack.pack(order)
redis.call('HSET', KEYS[4], ARGV[4], blob)
local kind = 'order.cancelled'
if ARGV[5] == 'paid' then kind = 'order.paid' end
outbox_add(KEYS[8], KEYS[9], KEYS[10], kind, blob, now)
publish(packed_map('type', cmsgpack.pack('order.updated'), 'to', cmsgpack.pack(order.user_id),
                   'order', blob))
return ok(blob)
