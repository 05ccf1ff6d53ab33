-- Session ARGV[5] leaves slot ARGV[4]; if its claim was live, publish ARGV[6] (media.offline).
-- KEYS[4] claims, KEYS[5] deadlines, KEYS[6] room. Returns the seq, 0, or false (not held).
local blob = redis.call('HGET', KEYS[4], ARGV[4])
if not blob then return false end
local c = cmsgpack.unpack(blob)
if c.session ~= ARGV[5] then return false end
redis.call('HDEL', KEYS[4], ARGV[4])
redis.call('ZREM', KEYS[5], ARGV[4])
if c.live and redis.call('EXISTS', KEYS[6]) == 1 then return publish(ARGV[6]) end
return 0
