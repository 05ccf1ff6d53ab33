-- A new epoch for a stream that may have lost events: after a failover, the new primary may
-- lack the last events the old one published (replication is asynchronous) and would number
-- new ones with the same sequence numbers. Renewed only if still at ARGV[4], the epoch the
-- caller knows, so when several instances notice the failover the stream is renewed once.
-- The sequence goes on; every follower and client of the old epoch resynchronises.
-- ARGV[3] the new epoch. Returns ok(the stream's epoch now).
local epoch = ensure_epoch()
if epoch ~= ARGV[4] then return ok(epoch) end
redis.call('SET', KEYS[2], ARGV[3])
return ok(ARGV[3])
