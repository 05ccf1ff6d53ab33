-- ARGV[4] event body
return publish(ARGV[4])
