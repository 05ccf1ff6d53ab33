-- KEYS[4] room record, KEYS[5] state, KEYS[6] chat tail, KEYS[7] products.
-- Returns ok({epoch, seq, room, pinned product or '', slow, likes, chat events, products}), or
-- ok(false) (None) for an unknown room.
local room = redis.call('GET', KEYS[4])
if not room then return ok(false) end
local epoch = ensure_epoch()
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local state = redis.call('HMGET', KEYS[5], 'pin', 'slow', 'likes')
local pinned = ''
if state[1] then pinned = redis.call('HGET', KEYS[7], state[1]) or '' end
return ok({epoch, seq, room, pinned, tonumber(state[2] or '0'), tonumber(state[3] or '0'),
           redis.call('LRANGE', KEYS[6], 0, -1), redis.call('HVALS', KEYS[7])})
