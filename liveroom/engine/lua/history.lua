-- Events after (ARGV[4] epoch, ARGV[5] seq), newest first; false when they are not all kept.
local epoch = ensure_epoch()
if epoch ~= ARGV[4] then return false end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[5])
if since > seq then return false end
if since == seq then return {} end
local missed = redis.call('LRANGE', KEYS[3], 0, seq - since - 1)
if #missed < seq - since then return false end
return missed
