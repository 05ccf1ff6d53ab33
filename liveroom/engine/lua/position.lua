-- The stream's epoch and last sequence number: ok({epoch, seq}).
local epoch = ensure_epoch()
return ok({epoch, tonumber(redis.call('GET', KEYS[1]) or '0')})
