-- One write to a room key, and the event announcing it, atomically.
-- KEYS[4] the key written, KEYS[5] the room record. ARGV[4] HSET | HDEL | SADD | SREM,
-- ARGV[5] field or member, ARGV[6] value (HSET only), ARGV[7] event body.
-- Returns ok(seq), or err('room_not_found'). An unknown write is a Redis error: a bug in the
-- caller, not a refusal.
if redis.call('EXISTS', KEYS[5]) == 0 then return err('room_not_found') end
local op = ARGV[4]
if op == 'HSET' then
  redis.call('HSET', KEYS[4], ARGV[5], ARGV[6])
elseif op == 'HDEL' or op == 'SADD' or op == 'SREM' then
  redis.call(op, KEYS[4], ARGV[5])
else
  return redis.error_reply('unknown write ' .. op)
end
return ok(publish(ARGV[7]))
