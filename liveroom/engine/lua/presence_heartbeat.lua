-- KEYS[1] presence hash, KEYS[2] instance zset. ARGV[1] instance, ARGV[2] ttl ms.
-- Returns 0 when the instance's rows were swept (it was silent too long, or Redis lost them):
-- the caller then registers its connections again.
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[2]), ARGV[1])
return 1
