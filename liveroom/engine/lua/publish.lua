-- ARGV[4] event body. Returns ok(seq).
return ok(publish(ARGV[4]))
