-- Events after (ARGV[4] epoch, ARGV[5] seq), newest first: ok(events), or ok(false) (None)
-- when they are not all kept.
local epoch = ensure_epoch()
if epoch ~= ARGV[4] then return ok(false) end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[5])
if since > seq then return ok(false) end
if since == seq then return ok({}) end
local missed = redis.call('LRANGE', KEYS[3], 0, seq - since - 1)
if #missed < seq - since then return ok(false) end
return ok(missed)
