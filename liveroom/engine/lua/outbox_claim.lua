-- Lease due outbox entries. KEYS[1] outbox, KEYS[2] due. ARGV[1] limit, ARGV[2] lease ms.
-- Returns ok({id, entry, id, entry, ...}); each is due again only when its lease runs out.
local now = now_ms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, id in ipairs(ids) do
  local entry = redis.call('HGET', KEYS[1], id)
  if entry then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    table.insert(out, id)
    table.insert(out, entry)
  else
    redis.call('ZREM', KEYS[2], id)
  end
end
return ok(out)
