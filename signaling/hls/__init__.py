"""HLS: the room's live stream as fMP4 segments any HTTP cache can serve, kept as replays."""
