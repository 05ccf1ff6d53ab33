-- Delete a room in one step, by the names of its keys (all in its hash slot; nothing scans).
-- KEYS[4] record, KEYS[5] sales, KEYS[6] stock, KEYS[7] flags, KEYS[8] told, KEYS[9] active
-- sales, KEYS[10] outbox, KEYS[11] outbox due, KEYS[12] outbox seq, KEYS[13] the archive,
-- KEYS[14] webhook, KEYS[15] delivery log, KEYS[16] orders, KEYS[17...] the room's other keys
-- (products, live state, presence, media...), removed. ARGV[4] the room.deleted event.
-- Its running and scheduled sales end (announced, sale.ended in the outbox); room.deleted is
-- the stream's last event. A room that had a sale or an order (a product bought outside a sale)
-- keeps its sales, orders, outbox, webhook and delivery log as its archive ({record,
-- deleted_at}); one that had neither keeps nothing.
-- Per-user slow-mode keys are not named: they expire by themselves within the slow-mode delay.
-- Returns ok('archived'), ok('deleted'), or ok(false) (None) for no room.
if redis.call('EXISTS', KEYS[4]) == 0 then return ok(false) end
local record = redis.call('GET', KEYS[4])
for _, id in ipairs(redis.call('SMEMBERS', KEYS[9])) do
  if not redis.call('HGET', KEYS[7], id) then redis.call('HSET', KEYS[7], id, 'ended') end
end
tick_sales(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12])
publish(ARGV[4])
local kept = redis.call('HLEN', KEYS[5]) > 0 or redis.call('HLEN', KEYS[16]) > 0
if kept then
  redis.call('HSET', KEYS[13], 'record', record, 'deleted_at', now_ms())
else
  redis.call('DEL', KEYS[10], KEYS[11], KEYS[12], KEYS[14], KEYS[15])
end
for i = 17, #KEYS do redis.call('UNLINK', KEYS[i]) end
redis.call('DEL', KEYS[4], KEYS[1], KEYS[2], KEYS[3])
if kept then return ok('archived') end
return ok('deleted')
