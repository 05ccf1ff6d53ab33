-- The stream's epoch and last sequence number.
local epoch = ensure_epoch()
return {epoch, tonumber(redis.call('GET', KEYS[1]) or '0')}
