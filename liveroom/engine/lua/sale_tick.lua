-- Announce what the clock and the stock changed for each active sale of a room, once
-- (tick_sales in the prelude). KEYS[4] sales, KEYS[5] stock, KEYS[6] flags, KEYS[7] told,
-- KEYS[8] active set, KEYS[9] outbox, KEYS[10] outbox due, KEYS[11] outbox seq.
-- Returns ok({sale id, remaining, stock, ...}) for the sales still active.
return ok(tick_sales(KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]))
