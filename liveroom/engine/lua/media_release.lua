-- Session ARGV[5] leaves slot ARGV[4]; if its claim was live, publish ARGV[6] (media.offline).
-- KEYS[4] claims, KEYS[5] deadlines, KEYS[6] room. Returns ok(seq) when it announced the claim
-- offline, else ok(false) (None): the claim was not live (or the room is gone), or the session
-- does not hold the slot.
local blob = redis.call('HGET', KEYS[4], ARGV[4])
if not blob then return ok(false) end
local c = cmsgpack.unpack(blob)
if c.session ~= ARGV[5] then return ok(false) end
redis.call('HDEL', KEYS[4], ARGV[4])
redis.call('ZREM', KEYS[5], ARGV[4])
if c.live and redis.call('EXISTS', KEYS[6]) == 1 then return ok(publish(ARGV[6])) end
return ok(false)
