-- KEYS[1] audience hash, KEYS[2] staff hash, KEYS[3] instance zset. ARGV[1] instance, ARGV[2] ttl ms.
-- Returns ok(true) (1), or ok(false) (None) when the instance's rows were swept (it was silent
-- too long, or Redis lost them): the caller then registers its members again.
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return ok(false) end
redis.call('ZADD', KEYS[3], now_ms() + tonumber(ARGV[2]), ARGV[1])
return ok(true)
