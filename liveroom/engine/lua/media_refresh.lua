-- Extend the claim of session ARGV[2] on slot ARGV[1] by ARGV[3] ms, if it still holds it.
-- KEYS[1] claims hash, KEYS[2] deadlines zset. Returns ok(true) (1), or ok(false) (None) when
-- the claim is gone or lapsed.
local blob = redis.call('HGET', KEYS[1], ARGV[1])
if not blob or cmsgpack.unpack(blob).session ~= ARGV[2] then return ok(false) end
local now = now_ms()
local deadline = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not deadline or tonumber(deadline) <= now then return ok(false) end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return ok(true)
