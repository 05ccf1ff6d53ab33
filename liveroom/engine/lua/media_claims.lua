-- The claims of a room that have not lapsed, ok({claim, ...}). KEYS[1] claims hash,
-- KEYS[2] deadlines zset.
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now_ms(), '+inf')
local out = {}
for _, s in ipairs(live) do
  local blob = redis.call('HGET', KEYS[1], s)
  if blob then table.insert(out, blob) end
end
return ok(out)
