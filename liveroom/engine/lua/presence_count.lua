-- KEYS[1] audience hash, KEYS[2] staff hash: rows "<instance>|<user>" -> member.
-- KEYS[3] instance zset: instance -> heartbeat deadline (ms, Redis clock).
-- KEYS[4] audience users hash: user -> how many instances hold a row for them.
-- Sweeps the rows of instances past their deadline, then counts the audience: ok(count), each
-- viewer once however many instances their tabs are on.
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now_ms())
for _, instance in ipairs(dead) do
  for h, hash in ipairs({KEYS[1], KEYS[2]}) do
    local cursor = '0'
    repeat
      local page = redis.call('HSCAN', hash, cursor, 'MATCH', instance .. '|*', 'COUNT', 1000)
      cursor = page[1]
      for i = 1, #page[2], 2 do
        local row = page[2][i]
        if redis.call('HDEL', hash, row) == 1 and h == 1 then
          presence_user_gone(KEYS[4], string.sub(row, #instance + 2))
        end
      end
    until cursor == '0'
  end
  redis.call('ZREM', KEYS[3], instance)
end
return ok(redis.call('HLEN', KEYS[4]))
