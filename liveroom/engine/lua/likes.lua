-- KEYS[4] state, KEYS[5] room record. ARGV[4] likes to add.
-- Event: {type='likes', added=n, total=t}. Returns ok(seq), or err('room_not_found').
if redis.call('EXISTS', KEYS[5]) == 0 then return err('room_not_found') end
local added = tonumber(ARGV[4])
local total = redis.call('HINCRBY', KEYS[4], 'likes', added)
return ok(publish(packed_map(
  'type', cmsgpack.pack('likes'), 'added', cmsgpack.pack(added), 'total', cmsgpack.pack(total))))
