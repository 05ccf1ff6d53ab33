"""Like floods: five guest sockets tapping as fast as they can add likes at one person's rate
(LIVEROOM_LIKES_PER_SECOND), not 20,000 in a second and a half."""

from __future__ import annotations

import time

import aiohttp

from ..helpers import eventually, token
from .guests import command, join, script

ROOM = "thailand"


async def _tap(sockets: list, seconds: float) -> tuple[int, int]:
    """Like 100 at a time round-robin for `seconds`; (likes acknowledged, refusals)."""
    acked = refused = 0
    cid = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        cid += 1
        answer = await command(sockets[cid % len(sockets)], cid, "like", count=100)
        if answer["type"] == "ack":
            acked += 100
        else:
            assert answer["code"] == "rate_limited" and answer["retry_after_ms"] > 0
            refused += 1
    return acked, refused


async def _likes(srv) -> int:
    snapshot = await srv.app_engine.store.snapshot(ROOM)
    return snapshot.likes


async def test_five_guest_sockets_cannot_flood_likes(server):
    srv = await server()  # 20 likes a second per person (a burst of 100)
    async with script() as http:
        sockets = [(await join(http, srv.base_url))[0] for _ in range(5)]
        acked, refused = await _tap(sockets, 1.5)
        assert refused > 0
        # One burst of 100 and 1.5 s of 20/s, rounded up to whole commands of 100.
        assert acked <= 200, acked

        async def tallied() -> bool:
            return await _likes(srv) == acked
        await eventually(tallied, what="the acknowledged likes in the room's total")
        for ws in sockets:
            await ws.close()


async def test_each_signed_in_viewer_has_their_own_like_allowance(server):
    srv = await server()
    async with aiohttp.ClientSession() as http:
        for user in ("ann", "bo"):
            ws, _ = await join(http, srv.base_url, token(ROOM, user=user))
            assert (await command(ws, 1, "like", count=100))["type"] == "ack"
            await ws.close()
