-- Record that a deleted room's orders were all read, if none is reserved any more (then none
-- can change). KEYS[1] the archive, KEYS[2] reservation expiry (the reserved orders).
-- Returns ok(true), or ok(false) (None) without an archive or with a reserved order.
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('ZCARD', KEYS[2]) > 0 then
  return ok(false)
end
redis.call('HSET', KEYS[1], 'exported_at', now_ms())
return ok(true)
