-- Add a room. KEYS[1] its record, KEYS[2] the archive of a deleted room of that id.
-- ARGV[1] the record. Returns ok(), err('room_exists'), or err('room_archived') while a
-- deleted room's orders are kept under that id (until purged).
if redis.call('EXISTS', KEYS[1]) == 1 then return err('room_exists') end
if redis.call('EXISTS', KEYS[2]) == 1 then return err('room_archived') end
redis.call('SET', KEYS[1], ARGV[1])
return ok()
