"""The domain: what a room, a product, a sale, an order, an event and an access token are, and
the rules they follow. Pure Python with no I/O: the engine and every edge build on it, and it
imports nothing else of Liveroom."""
