-- Announce what the clock and the stock changed for each active sale of a room, once.
-- KEYS[4] sales, KEYS[5] stock, KEYS[6] flags, KEYS[7] told, KEYS[8] active set,
-- KEYS[9] outbox, KEYS[10] outbox due, KEYS[11] outbox seq.
-- Events: {type='sale.started'|'sale.sold_out'|'sale.ended'|'sale.cancelled', sale=<view>}.
-- Returns ok({sale id, remaining, stock, ...}) for the sales still active.
local now = now_ms()
local events = {live = 'sale.started', sold_out = 'sale.sold_out', ended = 'sale.ended',
                cancelled = 'sale.cancelled'}
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[8])) do
  local blob = redis.call('HGET', KEYS[4], id)
  local remaining = tonumber(redis.call('HGET', KEYS[5], id) or '0')
  local sale = cmsgpack.unpack(blob)
  local state = sale_state(sale, remaining, redis.call('HGET', KEYS[6], id), now)
  if state ~= redis.call('HGET', KEYS[7], id) then
    redis.call('HSET', KEYS[7], id, state)
    sale.remaining, sale.sold, sale.state = remaining, sale.stock - remaining, state
    local view = cmsgpack.pack(sale)
    if events[state] then
      publish(packed_map('type', cmsgpack.pack(events[state]), 'sale', view))
    end
    if state == 'ended' or state == 'cancelled' then
      redis.call('SREM', KEYS[8], id)
      outbox_add(KEYS[9], KEYS[10], KEYS[11], 'sale.ended', view, now)
    end
  end
  if state ~= 'ended' and state ~= 'cancelled' then
    table.insert(out, id)
    table.insert(out, remaining)
    table.insert(out, sale.stock)
  end
end
return ok(out)
