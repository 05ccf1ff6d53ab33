-- KEYS[1] presence hash, KEYS[2] instance zset. ARGV[1] instance, ARGV[2] ttl ms,
-- then pairs of connection id and member.
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[2]), ARGV[1])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[1] .. '|' .. ARGV[i], ARGV[i + 1])
end
return 1
