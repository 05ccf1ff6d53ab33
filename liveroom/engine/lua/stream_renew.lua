-- A new epoch for a stream that may have lost events: after a failover, the new primary may
-- lack the last events the old one published (replication is asynchronous) and would number
-- new ones with sequence numbers already delivered. KEYS[4] the room's record: a room that is
-- not there (deleted, or lost with the rest) gets no stream. ARGV[4] names the failover (the
-- new primary's address, hashed): the epoch carries it after a '-', so however many instances
-- notice the failover, the stream is renewed once for it. The sequence goes on; every
-- follower and client of the old epoch resynchronises.
-- ARGV[3] the new epoch. Returns ok(the stream's epoch now), or ok(false) (None) for no room.
if redis.call('EXISTS', KEYS[4]) == 0 then return ok(false) end
local epoch = ensure_epoch()
local at = string.find(epoch, '-', 1, true)
if at and string.sub(epoch, at + 1) == ARGV[4] then return ok(epoch) end
local renewed = ARGV[3] .. '-' .. ARGV[4]
redis.call('SET', KEYS[2], renewed)
return ok(renewed)
