-- KEYS[4] room record. ARGV[4] record, ARGV[5] room.updated body. -1 when the room is gone.
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
redis.call('SET', KEYS[4], ARGV[4])
return publish(ARGV[5])
