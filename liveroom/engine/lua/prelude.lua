-- Prepended to every script. Scripts that publish take the room's stream as their first keys
-- and their first arguments:
--   KEYS[1] seq counter   KEYS[2] epoch   KEYS[3] history list
--   ARGV[1] pub/sub channel   ARGV[2] history size   ARGV[3] epoch to start if the stream is new
-- A published message is msgpack [epoch, seq, body], built here by concatenation: 0x93 is a
-- three-element array and body is already a msgpack map.
--
-- Every script answers ok(value) or err(code, details...), even one that cannot fail, so every
-- reply has one shape, read in one place (engine/redis_replies.py): ok gives the value, err raises
-- the error clients see for that code. An outcome that is not an error (nothing to publish, a
-- claim in the way) is an ok value. A nil ends a Lua table, so ok() reads as None; false inside a
-- table becomes a nil reply element, so ok(false) reads as None too.

local function ok(value)
  return {'ok', value}
end

local function err(code, ...)
  return {'err', code, ...}
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ensure_epoch()
  local epoch = redis.call('GET', KEYS[2])
  if not epoch then
    -- A stream without an epoch lost its state (or never had one): it starts again from 1.
    epoch = ARGV[3]
    redis.call('SET', KEYS[2], epoch)
    redis.call('DEL', KEYS[1], KEYS[3])
  end
  return epoch
end

local function publish(body)
  local epoch = ensure_epoch()
  local seq = redis.call('INCR', KEYS[1])
  local message = '\147' .. cmsgpack.pack(epoch) .. cmsgpack.pack(seq) .. body
  redis.call('LPUSH', KEYS[3], message)
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
  redis.call('PUBLISH', ARGV[1], message)
  return seq
end

-- msgpack map from alternating keys and already-packed values.
local function packed_map(...)
  local parts = {...}
  local out = string.char(0x80 + #parts / 2)
  for i = 1, #parts, 2 do
    out = out .. cmsgpack.pack(parts[i]) .. parts[i + 1]
  end
  return out
end

-- An outbox entry for a webhook, written in the same step as the change it reports.
-- `outbox` holds entries by id, `due` when each is next to be delivered, `seq` numbers them.
local function outbox_add(outbox, due, seq, kind, payload, now)
  local id = tostring(redis.call('INCR', seq))
  redis.call('HSET', outbox, id, packed_map(
    'type', cmsgpack.pack(kind), 'payload', payload, 'attempts', cmsgpack.pack(0),
    'created_at', cmsgpack.pack(now)))
  redis.call('ZADD', due, now, id)
  return id
end

-- A sale's state, as liveroom/sales.py:sale_state computes it.
local function sale_state(sale, remaining, flag, now)
  if flag == 'cancelled' or flag == 'ended' then return flag end
  if now >= sale.ends_at then return 'ended' end
  if now < sale.starts_at then return 'scheduled' end
  if remaining <= 0 then return 'sold_out' end
  return 'live'
end
