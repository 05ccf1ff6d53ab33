"""Many buyers at once, over real WebSockets: the flash-sale load the tests put on servers.

Each buyer is a bare aiohttp WebSocket (a RoomClient per buyer would make the test process the
bottleneck). All connect first, then all press buy together, as a crowd does when a sale opens.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from dataclasses import dataclass, field

import aiohttp

from .helpers import token


@dataclass
class Buyer:
    user: str
    url: str
    key: str
    quantity: int
    ws: aiohttp.ClientWebSocketResponse | None = None
    answers: list[dict] = field(default_factory=list)


async def _connect(session: aiohttp.ClientSession, buyer: Buyer, room: str) -> None:
    tok = token(room, user=buyer.user)
    buyer.ws = await session.ws_connect(f"{buyer.url}/ws/rooms/{room}?access_token={tok}",
                                        max_msg_size=0)
    for expected in ("welcome", "snapshot"):
        frame = json.loads((await buyer.ws.receive(timeout=30)).data)
        assert frame["type"] == expected, frame


LOST = {"type": "lost"}  # the connection died before an answer came


async def _buy(buyer: Buyer, sale_id: str, command_id: int, delay: float = 0.0) -> dict:
    assert buyer.ws is not None
    if delay:
        await asyncio.sleep(delay)
    try:
        await buyer.ws.send_str(json.dumps({
            "id": command_id, "cmd": "sale.buy", "sale_id": sale_id,
            "quantity": buyer.quantity, "idempotency_key": buyer.key,
        }))
        while True:
            msg = await buyer.ws.receive(timeout=60)
            if msg.type != aiohttp.WSMsgType.TEXT:
                buyer.answers.append(LOST)
                return LOST
            frame = json.loads(msg.data)
            if frame.get("id") == command_id:
                buyer.answers.append(frame)
                return frame
    except (ConnectionError, aiohttp.ClientError):
        buyer.answers.append(LOST)
        return LOST


async def swarm(urls: list[str], room: str, sale_id: str, *, buyers: int, quantity: int = 1,
                replays: int = 0, connect_concurrency: int = 200, spread: float = 0.0,
                connected: asyncio.Event | None = None) -> list[Buyer]:
    """`buyers` users spread over `urls`, each buying `quantity` once, all at the same moment
    or at random within `spread` seconds; the first `replays` of them then send the very same
    buy again (a retry on a flaky network). `connected` is set when everyone is in."""
    crowd = [Buyer(f"buyer-{i}", urls[i % len(urls)], f"key-{i}", quantity)
             for i in range(buyers)]
    ids = itertools.count(1)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        gate = asyncio.Semaphore(connect_concurrency)

        async def connect(buyer: Buyer) -> None:
            async with gate:
                await _connect(session, buyer, room)

        await asyncio.gather(*(connect(b) for b in crowd))
        if connected is not None:
            connected.set()
        await asyncio.gather(*(_buy(b, sale_id, next(ids), random.uniform(0, spread))
                               for b in crowd))
        await asyncio.gather(*(_buy(b, sale_id, next(ids)) for b in crowd[:replays]))
        await asyncio.gather(*(b.ws.close() for b in crowd if b.ws is not None))
    return crowd
