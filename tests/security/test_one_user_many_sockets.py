"""One person, many sockets: N sockets do not give one identity N times the chat rate, guest
identities from one address share one allowance, and 300 sockets of one guest count as one
viewer."""

from __future__ import annotations

import asyncio

import aiohttp

from ..helpers import eventually, token
from .guests import browser, command, join, script

ROOM = "thailand"


async def _flood(sockets: list, messages: int) -> int:
    """Send `messages` chat messages round-robin over the sockets, as fast as they are
    answered; how many got through."""
    acked = 0
    for n in range(messages):
        answer = await command(sockets[n % len(sockets)], 100 + n, "chat.send", text=f"spam {n}")
        if answer["type"] == "ack":
            acked += 1
        else:
            assert answer["code"] == "rate_limited" and answer["retry_after_ms"] > 0
    return acked


async def test_five_sockets_of_one_user_share_one_chat_allowance(server):
    srv = await server()  # 1 message a second, bursts of 5 (the defaults)
    flood = token(ROOM, user="flood")
    async with aiohttp.ClientSession() as http:
        sockets = [(await join(http, srv.base_url, flood))[0] for _ in range(5)]
        acked = await _flood(sockets, 25)
        # Per socket it would be 25 (5 bursts of 5); per person, one burst and what refills.
        assert acked <= 5 + 2, acked
        async with aiohttp.ClientSession() as other:
            ws, _ = await join(other, srv.base_url, token(ROOM, user="bystander"))
            assert (await command(ws, 1, "chat.send", text="I can talk"))["type"] == "ack"
            await ws.close()
        for ws in sockets:
            await ws.close()


async def test_guest_identities_from_one_address_share_its_allowance(server):
    srv = await server(guest_address_rate=2.0)  # the address: twice one identity's
    sessions = [browser() for _ in range(6)]
    try:
        sockets = []
        for n, http in enumerate(sessions):
            await http.get(f"{srv.base_url}/rooms/{ROOM}")  # a guest identity of its own
            ws, welcome = await join(http, srv.base_url)
            assert (await command(ws, 1, "profile.set", name=f"Guest {n}"))["type"] == "ack"
            sockets.append(ws)
        assert len({id(ws) for ws in sockets}) == 6
        acked = await _flood(sockets, 30)
        # Six identities alone would pass 30 (6 x 5); the address allows 2 x 5 and a refill.
        assert acked <= 10 + 3, acked
    finally:
        for http in sessions:
            await http.close()


async def _viewers(srv) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{srv.base_url}/api/rooms/{ROOM}") as response:
            return (await response.json())["viewers"]


async def test_three_hundred_sockets_of_one_guest_count_as_one_viewer(server):
    srv = await server(connections_per_address=0)
    async with browser() as one_guest, script() as scripted:
        await one_guest.get(f"{srv.base_url}/rooms/{ROOM}")
        opened = await asyncio.gather(*(join(one_guest, srv.base_url) for _ in range(150)),
                                      *(join(scripted, srv.base_url) for _ in range(150)))
        assert {first["type"] for _, first in opened} == {"welcome"}
        users = {first["you"]["user_id"] for _, first in opened}
        assert len(users) == 2  # the browser's guest, and the script's address guest
        async with aiohttp.ClientSession() as http:
            ws, _ = await join(http, srv.base_url, token(ROOM, user="real-viewer"))

            async def counted() -> bool:
                return await _viewers(srv) == 3
            await eventually(counted, what="three people counted")
            assert await _viewers(srv) == 3
            await ws.close()
        await asyncio.gather(*(ws.close() for ws, _ in opened))
