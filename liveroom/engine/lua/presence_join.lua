-- KEYS[1] audience hash, KEYS[2] staff hash, KEYS[3] instance zset (see presence_count.lua).
-- ARGV[1] instance, ARGV[2] ttl ms, then triples: user id, member, '1' if audience else '0'.
-- Returns ok() (None).
redis.call('ZADD', KEYS[3], now_ms() + tonumber(ARGV[2]), ARGV[1])
for i = 3, #ARGV, 3 do
  local row = ARGV[1] .. '|' .. ARGV[i]
  local into, other = KEYS[2], KEYS[1]
  if ARGV[i + 2] == '1' then into, other = KEYS[1], KEYS[2] end
  redis.call('HSET', into, row, ARGV[i + 1])
  redis.call('HDEL', other, row)
end
return ok()
