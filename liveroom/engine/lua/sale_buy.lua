-- The flash-sale buy, one atomic step. KEYS[4] sales, KEYS[5] stock, KEYS[6] flags,
-- KEYS[7] buyers ("sale|user" -> units held), KEYS[8] idempotency ("sale|user|key" -> order),
-- KEYS[9] orders, KEYS[10] order index, KEYS[11] the buyer's orders, KEYS[12] the sale's orders,
-- KEYS[13] reservation expiry, KEYS[14] outbox, KEYS[15] outbox due, KEYS[16] outbox seq,
-- KEYS[17] the room's record (a deleted room sells nothing).
-- ARGV[4] sale id, ARGV[5] user id, ARGV[6] idempotency key, ARGV[7] quantity,
-- ARGV[8] order id, ARGV[9] order record, ARGV[10] created_at, ARGV[11] expires_at.
-- Returns ok({'created', order}) or ok({'existing', order}) (the same idempotency key again), or
-- a refusal: err('room_not_found'), err('sale_not_found'), err('idempotency_conflict'), err('sale_not_started',
-- starts_at), err('sale_ended'), err('sale_cancelled'), err('sold_out'),
-- err('not_enough_stock', remaining), err('over_limit', held, limit).
if redis.call('EXISTS', KEYS[17]) == 0 then return err('room_not_found') end
local sale_id, user, qty = ARGV[4], ARGV[5], tonumber(ARGV[7])
local blob = redis.call('HGET', KEYS[4], sale_id)
if not blob then return err('sale_not_found') end
local idem = sale_id .. '|' .. user .. '|' .. ARGV[6]
local earlier = redis.call('HGET', KEYS[8], idem)
if earlier then
  local order = redis.call('HGET', KEYS[9], earlier)
  if cmsgpack.unpack(order).quantity ~= qty then return err('idempotency_conflict') end
  -- Written again, unchanged: the write is what a following WAIT (LIVEROOM_REDIS_MIN_REPLICAS)
  -- counts, so the retry is acknowledged only once the order is on the replicas too.
  redis.call('HSET', KEYS[8], idem, earlier)
  return ok({'existing', order})
end
local sale = cmsgpack.unpack(blob)
local flag = redis.call('HGET', KEYS[6], sale_id)
local remaining = tonumber(redis.call('HGET', KEYS[5], sale_id))
local state = sale_state(sale, remaining, flag, now_ms())
if state == 'scheduled' then return err('sale_not_started', sale.starts_at) end
if state == 'ended' then return err('sale_ended') end
if state == 'cancelled' then return err('sale_cancelled') end
if state == 'sold_out' then return err('sold_out') end
if remaining < qty then return err('not_enough_stock', remaining) end
local holder = sale_id .. '|' .. user
local held = tonumber(redis.call('HGET', KEYS[7], holder) or '0')
if held + qty > sale.per_user_limit then return err('over_limit', held, sale.per_user_limit) end
redis.call('HINCRBY', KEYS[5], sale_id, -qty)
redis.call('HINCRBY', KEYS[7], holder, qty)
redis.call('HSET', KEYS[8], idem, ARGV[8])
redis.call('HSET', KEYS[9], ARGV[8], ARGV[9])
for _, index in ipairs({KEYS[10], KEYS[11], KEYS[12]}) do
  redis.call('ZADD', index, ARGV[10], ARGV[8])
end
redis.call('ZADD', KEYS[13], ARGV[11], ARGV[8])
outbox_add(KEYS[14], KEYS[15], KEYS[16], 'order.created', ARGV[9], tonumber(ARGV[10]))
return ok({'created', ARGV[9]})
