-- A publisher claims a slot of the room (see engine/media.py for the rules).
-- KEYS[4] claims hash (slot -> claim), KEYS[5] deadlines zset (slot -> ms, Redis clock),
-- KEYS[6] room record. ARGV[4] slot, ARGV[5] claim (msgpack map), ARGV[6] ttl ms.
-- Returns ok() (None) once the slot is held, ok(claim in the way) when refused, or
-- err('room_not_found'). media.offline bodies built here have the shape of
-- events.media_offline().
if redis.call('EXISTS', KEYS[6]) == 0 then return err('room_not_found') end
local now = now_ms()
local slot = ARGV[4]
local new = cmsgpack.unpack(ARGV[5])

local function gone(s, claim, reason)
  redis.call('HDEL', KEYS[4], s)
  redis.call('ZREM', KEYS[5], s)
  if claim.live then
    publish(cmsgpack.pack({type = 'media.offline', slot = s, session = claim.session,
                           reason = reason}))
  end
end

for _, s in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)) do
  local blob = redis.call('HGET', KEYS[4], s)
  if blob then gone(s, cmsgpack.unpack(blob), 'expired') else redis.call('ZREM', KEYS[5], s) end
end

local displaced = {}
local kept = nil
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all, 2 do
  local s, blob = all[i], all[i + 1]
  local c = cmsgpack.unpack(blob)
  if c.session == new.session then
    kept = c
  elseif s == slot then
    if not (c.replaceable or c.user_id == new.user_id) then return ok(blob) end
    table.insert(displaced, {s, c})
  elseif c.instance ~= new.instance then
    if not c.replaceable then return ok(blob) end
    table.insert(displaced, {s, c})
  end
end
for _, d in ipairs(displaced) do gone(d[1], d[2], 'replaced') end
if kept then
  new.live = kept.live
  new.since = kept.since
end
redis.call('HSET', KEYS[4], slot, cmsgpack.pack(new))
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[6]), slot)
return ok()
