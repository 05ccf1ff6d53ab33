-- KEYS[4] chat tail, KEYS[5] mutes, KEYS[6] bans, KEYS[7] state, KEYS[8] the sender's slow
-- key (the user's, or the one they speak for: a guest's address), KEYS[9] room record.
-- ARGV[4] user id, ARGV[5] '1' for staff (exempt from bans, mutes and slow mode),
-- ARGV[6] event body, ARGV[7] tail size, ARGV[8] the sender if not the user ('' otherwise):
-- its bans and mutes apply too.
-- Returns ok(seq), or err('room_not_found'), err('banned'), err('muted', until_ms),
-- err('slow_mode', retry_ms).
if redis.call('EXISTS', KEYS[9]) == 0 then return err('room_not_found') end
local user = ARGV[4]
if ARGV[5] ~= '1' then
  local whom = {user}
  if ARGV[8] and ARGV[8] ~= '' then whom[2] = ARGV[8] end
  for _, who in ipairs(whom) do
    if redis.call('SISMEMBER', KEYS[6], who) == 1 then return err('banned') end
    local muted_until = tonumber(redis.call('HGET', KEYS[5], who) or '0')
    if muted_until > 0 then
      if muted_until > now_ms() then return err('muted', muted_until) end
      redis.call('HDEL', KEYS[5], who)
    end
  end
  local slow = tonumber(redis.call('HGET', KEYS[7], 'slow') or '0')
  if slow > 0 and not redis.call('SET', KEYS[8], '1', 'NX', 'PX', slow * 1000) then
    return err('slow_mode', redis.call('PTTL', KEYS[8]))
  end
end
redis.call('RPUSH', KEYS[4], ARGV[6])
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[7]), -1)
return ok(publish(ARGV[6]))
