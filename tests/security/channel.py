"""Raw room-channel sockets for the attack tests: frames exactly as an attacker writes them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from liveroom.domain.codec import unpack

from ..helpers import token

ROOM = "thailand"


def decode(msg: aiohttp.WSMessage) -> dict:
    if msg.type == aiohttp.WSMsgType.TEXT:
        return json.loads(msg.data)
    assert msg.type == aiohttp.WSMsgType.BINARY, msg
    return unpack(msg.data)


@contextlib.asynccontextmanager
async def raw_socket(base_url: str, *, fmt: str = "json", user: str = "attacker",
                     tok: str | None = None, room: str = ROOM
                     ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """An open channel with its welcome and snapshot read."""
    tok = tok or token(room, user=user)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
                f"{base_url}/ws/rooms/{room}?access_token={tok}&format={fmt}",
                max_msg_size=0) as ws:
            assert decode(await ws.receive(timeout=10))["type"] == "welcome"
            assert decode(await ws.receive(timeout=10))["type"] == "snapshot"
            yield ws


async def send(ws: aiohttp.ClientWebSocketResponse, data: str | bytes) -> None:
    if isinstance(data, str):
        await ws.send_str(data)
    else:
        await ws.send_bytes(data)


async def reply(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10) -> dict:
    """The next ack or error, skipping room events; fails on a close."""
    while True:
        msg = await ws.receive(timeout=timeout)
        assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), (
            f"the connection ended: {msg.type} {ws.close_code}")
        frame = decode(msg)
        if frame["type"] in ("ack", "error"):
            return frame


async def answer(ws: aiohttp.ClientWebSocketResponse, data: str | bytes) -> dict:
    await send(ws, data)
    return await reply(ws)


async def still_works(ws: aiohttp.ClientWebSocketResponse) -> None:
    """The connection still answers commands."""
    frame = await answer(ws, '{"id": "alive", "cmd": "ping"}')
    assert (frame["type"], frame["id"]) == ("ack", "alive"), frame


PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _table_rows(heading: str) -> list[str]:
    """The first cells of the table under a heading of docs/protocol.md."""
    text = PROTOCOL.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("| ") and not line.startswith("|--"):
            rows.append(line.split("|")[1].strip().strip("`"))
    return rows


def documented_error_codes() -> set[str]:
    return {row for row in _table_rows("## Error codes") if row != "code"}


def documented_close_codes() -> set[int]:
    return {int(row) for row in _table_rows("### Close codes") if row.isdigit()}
