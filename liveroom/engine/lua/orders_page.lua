-- A page of orders, oldest first: by created_at (the index's score), then by id (as Redis
-- orders equal scores). KEYS[1] orders (id -> record), KEYS[2] the index to page through (the
-- room's, a sale's or a buyer's). ARGV[1] the order to continue after ('' from the start; any
-- order of the room, listed in this index or not), ARGV[2] at most this many.
-- Returns ok({record, ...}) or err('unknown_cursor').
local limit = tonumber(ARGV[2])
local ids = {}
if ARGV[1] == '' then
  ids = redis.call('ZRANGE', KEYS[2], 0, limit - 1)
else
  local blob = redis.call('HGET', KEYS[1], ARGV[1])
  if not blob then return err('unknown_cursor') end
  local at = string.format('%d', cmsgpack.unpack(blob).created_at)
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], at, at, 'BYSCORE')) do
    if id > ARGV[1] and #ids < limit then table.insert(ids, id) end
  end
  if #ids < limit then
    local rest = redis.call('ZRANGE', KEYS[2], '(' .. at, '+inf', 'BYSCORE', 'LIMIT', 0,
                            limit - #ids)
    for _, id in ipairs(rest) do table.insert(ids, id) end
  end
end
if #ids == 0 then return ok({}) end
return ok(redis.call('HMGET', KEYS[1], unpack(ids)))
