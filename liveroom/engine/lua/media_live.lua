-- The claim of session ARGV[5] in slot ARGV[4] goes live: store ARGV[6] (the claim with live and
-- since set) and publish ARGV[7] (media.live). KEYS[4] claims, KEYS[5] deadlines, KEYS[6] room.
-- Returns ok(seq), or ok(false) (None) when the session no longer holds the slot (or is live
-- already, or the room is gone).
if redis.call('EXISTS', KEYS[6]) == 0 then return ok(false) end
local blob = redis.call('HGET', KEYS[4], ARGV[4])
if not blob then return ok(false) end
local c = cmsgpack.unpack(blob)
if c.session ~= ARGV[5] or c.live then return ok(false) end
local deadline = redis.call('ZSCORE', KEYS[5], ARGV[4])
if not deadline or tonumber(deadline) <= now_ms() then return ok(false) end
redis.call('HSET', KEYS[4], ARGV[4], ARGV[6])
return ok(publish(ARGV[7]))
