-- KEYS as presence_join.lua. ARGV[1] instance, then user ids whose rows this instance drops.
-- Returns ok() (None).
for i = 2, #ARGV do
  local row = ARGV[1] .. '|' .. ARGV[i]
  if redis.call('HDEL', KEYS[1], row) == 1 then presence_user_gone(KEYS[4], ARGV[i]) end
  redis.call('HDEL', KEYS[2], row)
end
return ok()
