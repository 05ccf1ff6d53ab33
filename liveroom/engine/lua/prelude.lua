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

-- A viewer's row on one instance went: the viewer stops counting with their last one.
local function presence_user_gone(users, user)
  if redis.call('HINCRBY', users, user, -1) <= 0 then redis.call('HDEL', users, user) end
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

-- Announce what the clock and the stock changed for each active sale of a room, once (the
-- sale tick, and the sales a deleted room ends). Takes the room's sales, stock, flags, told
-- (state last announced), active set and outbox keys. Events: {type='sale.started' |
-- 'sale.sold_out' | 'sale.ended' | 'sale.cancelled', sale=<view>}; a sale that ends also goes
-- to the outbox as sale.ended. Returns {sale id, remaining, stock, ...} of those still active.
local function tick_sales(sales, stock, flags, told, active, outbox, due, seq)
  local now = now_ms()
  local events = {live = 'sale.started', sold_out = 'sale.sold_out', ended = 'sale.ended',
                  cancelled = 'sale.cancelled'}
  local out = {}
  for _, id in ipairs(redis.call('SMEMBERS', active)) do
    local blob = redis.call('HGET', sales, id)
    local remaining = tonumber(redis.call('HGET', stock, id) or '0')
    local sale = cmsgpack.unpack(blob)
    local state = sale_state(sale, remaining, redis.call('HGET', flags, id), now)
    if state ~= redis.call('HGET', told, id) then
      redis.call('HSET', told, id, state)
      sale.remaining, sale.sold, sale.state = remaining, sale.stock - remaining, state
      local view = cmsgpack.pack(sale)
      if events[state] then
        publish(packed_map('type', cmsgpack.pack(events[state]), 'sale', view))
      end
      if state == 'ended' or state == 'cancelled' then
        redis.call('SREM', active, id)
        outbox_add(outbox, due, seq, 'sale.ended', view, now)
      end
    end
    if state ~= 'ended' and state ~= 'cancelled' then
      table.insert(out, id)
      table.insert(out, remaining)
      table.insert(out, sale.stock)
    end
  end
  return out
end
