-- KEYS[4] chat tail. ARGV[4] message id, ARGV[5] event body.
-- Returns ok(seq), or err('message_not_found') when the id is not in the tail.
for _, item in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
  local event = cmsgpack.unpack(item)
  if event.message.id == ARGV[4] then
    redis.call('LREM', KEYS[4], 1, item)
    return ok(publish(ARGV[5]))
  end
end
return err('message_not_found')
