-- KEYS[4] room record. ARGV[4] record, ARGV[5] room.updated body.
-- Returns ok(seq), or err('room_not_found') when the room is gone.
if redis.call('EXISTS', KEYS[4]) == 0 then return err('room_not_found') end
redis.call('SET', KEYS[4], ARGV[4])
return ok(publish(ARGV[5]))
