-- KEYS[4] sales, KEYS[5] stock, KEYS[6] told (last announced state), KEYS[7] active set,
-- KEYS[8] room record. ARGV[4] sale id, ARGV[5] sale record, ARGV[6] stock,
-- ARGV[7] sale.scheduled or sale.started, ARGV[8] the state it announces.
-- The event carries the sale's view: {type=ARGV[7], sale=<record plus remaining, sold, state>},
-- built by the caller as the event body in ARGV[9]. Returns ok(seq), or err('room_not_found').
if redis.call('EXISTS', KEYS[8]) == 0 then return err('room_not_found') end
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
redis.call('HSET', KEYS[5], ARGV[4], ARGV[6])
redis.call('HSET', KEYS[6], ARGV[4], ARGV[8])
redis.call('SADD', KEYS[7], ARGV[4])
return ok(publish(ARGV[9]))
