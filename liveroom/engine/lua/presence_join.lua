-- KEYS[1] audience hash, KEYS[2] staff hash, KEYS[3] instance zset, KEYS[4] audience users
-- hash (see presence_count.lua).
-- ARGV[1] instance, ARGV[2] ttl ms, then triples: user id, member, '1' if audience else '0'.
-- Returns ok() (None).
redis.call('ZADD', KEYS[3], now_ms() + tonumber(ARGV[2]), ARGV[1])
for i = 3, #ARGV, 3 do
  local user = ARGV[i]
  local row = ARGV[1] .. '|' .. user
  if ARGV[i + 2] == '1' then
    if redis.call('HSET', KEYS[1], row, ARGV[i + 1]) == 1 then
      redis.call('HINCRBY', KEYS[4], user, 1)
    end
    redis.call('HDEL', KEYS[2], row)
  else
    redis.call('HSET', KEYS[2], row, ARGV[i + 1])
    if redis.call('HDEL', KEYS[1], row) == 1 then presence_user_gone(KEYS[4], user) end
  end
end
return ok()
