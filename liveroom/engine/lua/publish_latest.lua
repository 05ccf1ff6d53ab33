-- KEYS[4] latest hash. ARGV[4] slot, ARGV[5] body, ARGV[6] interval in ms.
-- Publishes only a changed value, and a slot at most once per interval over all instances.
-- Returns ok(seq), or ok(false) (None) when it published nothing.
local now = now_ms()
local at = tonumber(redis.call('HGET', KEYS[4], ARGV[4] .. ':at') or '0')
if now - at < tonumber(ARGV[6]) then return ok(false) end
if redis.call('HGET', KEYS[4], ARGV[4]) == ARGV[5] then return ok(false) end
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5], ARGV[4] .. ':at', now)
return ok(publish(ARGV[5]))
