-- KEYS[1] presence hash, KEYS[2] instance zset.
-- Sweeps the rows of instances whose heartbeat expired, then counts.
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms())
for _, instance in ipairs(dead) do
  local cursor = '0'
  repeat
    local page = redis.call('HSCAN', KEYS[1], cursor, 'MATCH', instance .. '|*', 'COUNT', 1000)
    cursor = page[1]
    for i = 1, #page[2], 2 do redis.call('HDEL', KEYS[1], page[2][i]) end
  until cursor == '0'
  redis.call('ZREM', KEYS[2], instance)
end
return redis.call('HLEN', KEYS[1])
