"""Hostile and broken input on the room channel: each gets a precise error or close code, and
the server, the room and every other connection stay sound."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import aiohttp
import pytest

from liveroom.client import ChannelClosed, CommandError, RoomClient
from liveroom.domain import auth

from ..helpers import SECRET, eventually, token

ROOM = "thailand"


@pytest.fixture
async def room_server(server):
    return await server()


@pytest.fixture
async def bystander(room_server):
    """A viewer who must not notice anything another connection does wrong."""
    client = RoomClient(room_server.base_url, ROOM, token=token(ROOM, user="bystander"))
    await client.connect()
    yield client
    await client.close()


@pytest.fixture
async def raw(room_server):
    """A plain aiohttp WebSocket with the welcome and snapshot already read."""
    session = aiohttp.ClientSession()
    sockets = []

    async def open_raw(query: str = "", headers: dict | None = None, read_intro: bool = True):
        tok = token(ROOM, user=f"raw-{len(sockets)}")
        sep = "&" if query else ""
        ws = await session.ws_connect(
            f"{room_server.base_url}/ws/rooms/{ROOM}?access_token={tok}{sep}{query}",
            headers=headers,
        )
        sockets.append(ws)
        if read_intro:
            assert (await ws.receive_json())["type"] == "welcome"
            assert (await ws.receive_json())["type"] == "snapshot"
        return ws

    yield open_raw
    for ws in sockets:
        await ws.close()
    await session.close()


async def _answer(ws: aiohttp.ClientWebSocketResponse, data) -> dict:
    """Send a frame and return the first ack or error, skipping room events."""
    if isinstance(data, str):
        await ws.send_str(data)
    elif isinstance(data, bytes):
        await ws.send_bytes(data)
    else:
        await ws.send_json(data)
    while True:
        frame = await ws.receive_json(timeout=5)
        if frame["type"] in ("ack", "error"):
            return frame


async def _still_works(ws, bystander: RoomClient) -> None:
    assert (await _answer(ws, {"id": "ping", "cmd": "ping"}))["type"] == "ack"
    assert (await bystander.command("ping"))["type"] == "ack"


@pytest.mark.parametrize("frame, code, field", [
    ("{not json", "invalid_json", None),
    ("[1, 2, 3]", "invalid_json", None),
    (b"\xc1\xc1", "invalid_json", None),
    ({"cmd": "ping"}, "invalid_field", "id"),
    ({"id": {"nested": 1}, "cmd": "ping"}, "invalid_field", "id"),
    ({"id": 1, "cmd": "teleport"}, "unknown_command", None),
    ({"id": 1}, "unknown_command", None),
    ({"id": 1, "cmd": "chat.send"}, "invalid_field", "text"),
    ({"id": 1, "cmd": "chat.send", "text": 42}, "invalid_field", "text"),
    ({"id": 1, "cmd": "chat.send", "text": "hi", "colour": "red"}, "invalid_field", "colour"),
    ({"id": 1, "cmd": "chat.send", "text": ""}, "invalid_field", "text"),
    ({"id": 1, "cmd": "chat.send", "text": " \n\t "}, "invalid_field", "text"),
    ({"id": 1, "cmd": "chat.send", "text": "x" * 501}, "invalid_field", "text"),
    ({"id": 1, "cmd": "chat.send", "text": "bell\x07"}, "invalid_field", "text"),
    ({"id": 1, "cmd": "like", "count": 0}, "invalid_field", "count"),
    ({"id": 1, "cmd": "like", "count": True}, "invalid_field", "count"),
    ({"id": 1, "cmd": "like", "count": 1.5}, "invalid_field", "count"),
    ({"id": 1, "cmd": "like", "count": 10**9}, "invalid_field", "count"),
])
async def test_malformed_commands_get_a_precise_error_and_the_connection_stays(
    raw, bystander, frame, code, field
):
    ws = await raw()
    answer = await _answer(ws, frame)
    assert answer["type"] == "error" and answer["code"] == code, answer
    if field:
        assert answer["field"] == field and answer["message"].startswith(field)
    await _still_works(ws, bystander)


async def test_a_frame_over_the_size_limit_closes_with_1009_and_others_go_on(raw, bystander):
    ws = await raw()
    await ws.send_str('{"id": 1, "cmd": "chat.send", "text": "' + "x" * 20_000 + '"}')
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1009
    assert (await bystander.chat("unaffected"))["type"] == "ack"


async def test_html_in_chat_and_names_travels_as_text_never_escaped_or_lost(room_server):
    name = 'Mallory <img src=x onerror="alert(1)">'
    text = "<script>alert('buy')</script> & <b>bold</b>"
    tok = auth.mint(SECRET, room=ROOM, role="viewer", user_id="mallory", name=name)
    async with RoomClient(room_server.base_url, ROOM, token=tok) as mallory:
        await mallory.chat(text)
        event = await mallory.next_event("chat.message")
        assert (event["message"]["name"], event["message"]["text"]) == (name, text)
    async with RoomClient(room_server.base_url, ROOM, token=token(ROOM)) as later:
        assert later.snapshot["chat"][-1]["text"] == text


@pytest.mark.parametrize("make_token, close_code, error_code", [
    (lambda: auth.mint("another-secret-of-the-right-length-x", room=ROOM, role="viewer",
                       user_id="u"), 4401, "invalid_token"),
    (lambda: "not-a-jwt", 4401, "invalid_token"),
    (lambda: auth.mint(SECRET, room=ROOM, role="viewer", user_id="u", ttl=-10), 4401,
     "token_expired"),
    (lambda: auth.mint(SECRET, room="chile", role="moderator", user_id="u"), 4403,
     "wrong_room"),
])
async def test_bad_tokens_are_refused_with_a_reason_and_a_close_code(
    room_server, bystander, make_token, close_code, error_code
):
    with pytest.raises(ChannelClosed) as refused:
        await RoomClient(room_server.base_url, ROOM, token=make_token(), reconnect=False).connect()
    assert refused.value.code == close_code
    assert refused.value.error["code"] == error_code
    assert (await bystander.command("ping"))["type"] == "ack"


async def test_an_unknown_room_is_refused_with_4404(room_server):
    for room in ("atlantis", "NOT A SLUG"):
        with pytest.raises(ChannelClosed) as refused:
            await RoomClient(room_server.base_url, room, token=token(room.lower())).connect()
        assert refused.value.code == 4404 and refused.value.error["code"] == "room_not_found"


async def test_a_private_room_refuses_guests(room_server):
    engine = room_server.app_engine
    record = await engine.store.get_room(ROOM)
    await engine.store.update_room({**record, "public": False})
    with pytest.raises(ChannelClosed) as refused:
        await RoomClient(room_server.base_url, ROOM).connect()
    assert refused.value.code == 4401 and refused.value.error["code"] == "unauthorized"
    async with RoomClient(room_server.base_url, ROOM, token=token(ROOM)) as member:
        assert member.snapshot["room"]["public"] is False


async def test_bad_resume_parameters_are_refused(raw):
    ws = await raw("since=abc&epoch=e1", read_intro=False)
    frame = await ws.receive_json(timeout=5)
    assert frame["code"] == "bad_request"
    await ws.receive(timeout=5)
    assert ws.close_code == 4400


async def test_a_cross_site_origin_is_refused_before_the_upgrade(room_server):
    url = f"{room_server.base_url}/ws/rooms/{ROOM}"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url, headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403
        same_site = room_server.base_url
        async with session.ws_connect(url, headers={"Origin": same_site}) as ws:
            assert (await ws.receive_json())["type"] == "welcome"


async def test_chat_flooding_is_rate_limited_per_connection(room_server, bystander):
    async with RoomClient(room_server.base_url, ROOM, token=token(ROOM, user="flood")) as flood:
        results = []
        for i in range(12):
            try:
                await flood.chat(f"spam {i}")
                results.append("ok")
            except CommandError as error:
                assert error.code == "rate_limited" and error.frame["retry_after_ms"] > 0
                results.append(error.code)
        assert results[:5] == ["ok"] * 5 and "rate_limited" in results
        assert (await bystander.chat("I can still talk"))["type"] == "ack"


async def test_a_command_flood_is_rate_limited_without_closing(raw, bystander):
    ws = await raw()
    for i in range(100):
        await ws.send_json({"id": i, "cmd": "ping"})
    answers = [await ws.receive_json(timeout=5) for _ in range(100)]
    codes = {a.get("code", "ack") for a in answers}
    assert codes == {"ack", "rate_limited"}
    await asyncio.sleep(0.2)  # let the bucket refill a little: a client told to slow down does
    await _still_works(ws, bystander)


async def test_a_client_that_stops_reading_is_cut_off_and_memory_stays_bounded(
    server, engine_kind
):
    srv = await server(send_buffer_bytes=64 * 1024)
    from liveroom.channel.fanout import FANOUT

    fanout = srv.app[FANOUT]
    path = f"/ws/rooms/{ROOM}?access_token={token(ROOM, user='zzz')}"
    sleeper = await _RawSocket.open(srv.port, path)
    await eventually(lambda: fanout.connection_count(ROOM) == 1, what="the sleeper joined")
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user="awake")) as awake:
        blob = "x" * 8000
        published = 0
        # 8 KB events until the server gives up on the sleeper; bounded far below what we send.
        while fanout.connection_count(ROOM) > 1 and published < 2000:
            await srv.app_engine.broker.publish(ROOM, {"type": "test.blob", "pad": blob})
            published += 1
            await asyncio.sleep(0)
        assert fanout.connection_count(ROOM) == 1, "the sleeper was never cut off"
        assert published < 1000  # a few hundred KB of kernel buffers, then our 64 KB limit
        event = await awake.next_event("test.blob")  # the reader got its events meanwhile
        assert event["pad"] == blob
    sleeper.close()


class _RawSocket:
    """A WebSocket client that completes the handshake, then never reads again."""

    @classmethod
    async def open(cls, port: int, path: str) -> _RawSocket:
        self = cls()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        # A small reader limit: asyncio stops taking bytes off the socket at twice this.
        self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        return self

    def close(self) -> None:
        self.writer.close()


async def test_an_unknown_watch_mode_is_refused(raw):
    ws = await raw("watch=backstage", read_intro=False)
    frame = await ws.receive_json(timeout=5)
    assert frame["code"] == "bad_request" and "watch must be one of live, replay" in frame["message"]
    await ws.receive(timeout=5)
    assert ws.close_code == 4400
