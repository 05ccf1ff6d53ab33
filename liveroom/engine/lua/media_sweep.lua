-- Remove the room's lapsed claims, announcing live ones offline (reason 'expired', the shape of
-- events.media_offline()). KEYS[4] claims, KEYS[5] deadlines, KEYS[6] room record.
-- Returns ok(how many were removed), or ok(false) (None) when the room is gone (its index entry
-- can go too).
local exists = redis.call('EXISTS', KEYS[6]) == 1
local n = 0
for _, s in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now_ms())) do
  local blob = redis.call('HGET', KEYS[4], s)
  redis.call('HDEL', KEYS[4], s)
  redis.call('ZREM', KEYS[5], s)
  n = n + 1
  if blob and exists then
    local c = cmsgpack.unpack(blob)
    if c.live then
      publish(cmsgpack.pack({type = 'media.offline', slot = s, session = c.session,
                             reason = 'expired'}))
    end
  end
end
if not exists then return ok(false) end
return ok(n)
