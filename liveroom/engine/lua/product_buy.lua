-- A product bought at its own price outside any sale, one atomic step (the sale buy's twin).
-- KEYS[4] products, KEYS[5] idempotency ("product|user|key" -> order), KEYS[6] orders,
-- KEYS[7] order index, KEYS[8] the buyer's orders, KEYS[9] reservation expiry,
-- KEYS[10] outbox, KEYS[11] outbox due, KEYS[12] outbox seq.
-- ARGV[4] product id, ARGV[5] user id, ARGV[6] idempotency key, ARGV[7] quantity,
-- ARGV[8] order id, ARGV[9] order record, ARGV[10] created_at, ARGV[11] expires_at,
-- ARGV[12] unit price, ARGV[13] currency.
-- The product's stock is taken in its record, and announced in the same step:
--   {type='product.updated', product=<the product as stored now>}
-- Returns ok({'created', order}) or ok({'existing', order}) (the same idempotency key again), or
-- a refusal: err('product_not_found'), err('idempotency_conflict'),
-- err('price_changed', price, currency), err('sold_out'), err('not_enough_stock', remaining).
local product_id, user, qty = ARGV[4], ARGV[5], tonumber(ARGV[7])
local idem = product_id .. '|' .. user .. '|' .. ARGV[6]
local earlier = redis.call('HGET', KEYS[5], idem)
if earlier then
  local order = redis.call('HGET', KEYS[6], earlier)
  if cmsgpack.unpack(order).quantity ~= qty then return err('idempotency_conflict') end
  -- Written again, unchanged: the write is what a following WAIT (LIVEROOM_REDIS_MIN_REPLICAS)
  -- counts, so the retry is acknowledged only once the order is on the replicas too.
  redis.call('HSET', KEYS[5], idem, earlier)
  return ok({'existing', order})
end
local blob = redis.call('HGET', KEYS[4], product_id)
if not blob then return err('product_not_found') end
local product = cmsgpack.unpack(blob)
if product.price ~= ARGV[12] or product.currency ~= ARGV[13] then
  return err('price_changed', product.price, product.currency)
end
local stock = tonumber(product.stock) or 0
if stock <= 0 then return err('sold_out') end
if stock < qty then return err('not_enough_stock', stock) end
product.stock = stock - qty
blob = cmsgpack.pack(product)
redis.call('HSET', KEYS[4], product_id, blob)
publish(packed_map('type', cmsgpack.pack('product.updated'), 'product', blob))
redis.call('HSET', KEYS[5], idem, ARGV[8])
redis.call('HSET', KEYS[6], ARGV[8], ARGV[9])
for _, index in ipairs({KEYS[7], KEYS[8]}) do
  redis.call('ZADD', index, ARGV[10], ARGV[8])
end
redis.call('ZADD', KEYS[9], ARGV[11], ARGV[8])
outbox_add(KEYS[10], KEYS[11], KEYS[12], 'order.created', ARGV[9], tonumber(ARGV[10]))
return ok({'created', ARGV[9]})
