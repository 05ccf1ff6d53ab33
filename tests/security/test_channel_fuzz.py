"""Property-based fuzzing of the room channel, on both engines: arbitrary JSON and msgpack
values, nesting, map keys of every type, sizes at and around every documented limit, and random
combinations of commands and fields, sent by a host and by a viewer on connections of both
formats. Whatever comes, each frame is answered with an error code of docs/protocol.md's table
(never `internal`) or an ack, or the connection closes with a documented close code; the server
logs no fault; and afterwards the server and a bystander in the same room still work.

The server runs in a thread of its own (its own event loop) so that Hypothesis can drive it from
a plain test function and shrink what it finds. The run is derandomized: the same examples every
time, LIVEROOM_FUZZ_EXAMPLES of them per engine (300 by default).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

import aiohttp
import msgpack
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveroom.channel.commands import COMMANDS
from liveroom.channel.frame_shape import MAX_DEPTH
from liveroom.domain.codec import pack, unpack
from liveroom.engine import ENGINE
from liveroom.server.app import create_app

from ..conftest import demo_product, demo_room
from ..helpers import free_port, token
from .channel import documented_close_codes, documented_error_codes

ROOM = "thailand"
MAX_FRAME = 4096  # a small limit, so that frames at and around it are quick to make
CHAT_MAX = 500
EXAMPLES = int(os.environ.get("LIVEROOM_FUZZ_EXAMPLES", "300"))
ERRORS = documented_error_codes() - {"internal"}
CLOSES = documented_close_codes()
# The fuzzing connections: who may do what (a host runs the room, a viewer buys, a guest came
# without a token).
SENDERS = [("host", "json"), ("host", "msgpack"), ("viewer", "json"), ("viewer", "msgpack"),
           ("guest", "json"), ("guest", "msgpack")]


class ServerThread:
    """The app on a real socket, served by an event loop in a thread of its own; `run` executes
    a coroutine there and waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="fuzzed-server")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Faults(logging.Handler):
    """Log records of ERROR and above, or with a traceback: a fault the fuzzing provoked."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


class Channel:
    """One room-channel connection, reopened (same user) after a documented close."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, role: str, fmt: str) -> None:
        self.http, self.role, self.fmt = http, role, fmt
        self.url = f"{base_url}/ws/rooms/{ROOM}?format={fmt}"
        if role != "guest":
            self.url += "&access_token=" + token(ROOM, role=role, user=f"fuzz-{role}-{fmt}")
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> None:
        self.ws = await self.http.ws_connect(self.url, max_msg_size=0)
        for expected in ("welcome", "snapshot"):
            assert (await self._frame())["type"] == expected

    async def _frame(self) -> dict:
        assert self.ws is not None
        msg = await self.ws.receive(timeout=15)
        if msg.type == aiohttp.WSMsgType.TEXT:
            return json.loads(msg.data)
        if msg.type == aiohttp.WSMsgType.BINARY:
            return unpack(msg.data)
        return {"type": "closed", "msg": msg.type, "code": self.ws.close_code}

    async def exchange(self, data: str | bytes) -> dict:
        """Send one frame; its answer (ack or error), or how the connection closed."""
        if self.ws is None or self.ws.closed:
            await self.open()
        assert self.ws is not None
        if isinstance(data, str):
            await self.ws.send_str(data)
        else:
            await self.ws.send_bytes(data)
        while True:
            frame = await self._frame()
            if frame["type"] in ("ack", "error", "closed"):
                return frame


# --- what is sent ------------------------------------------------------------------------------
def _around(*limits: int) -> st.SearchStrategy[int]:
    """Integers at and next to each limit, and anywhere."""
    edges = sorted({n + d for n in limits for d in (-1, 0, 1)})
    return st.one_of(st.sampled_from(edges), st.integers(-2**63, 2**64 - 1))


def _text_near(*lengths: int) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted({n + d for n in lengths for d in (-1, 0, 1) if n + d >= 0})
                           ).flatmap(lambda n: st.text(min_size=n, max_size=n).filter(
                               lambda s: len(s) == n) | st.just("x" * n))


SCALARS = (st.none() | st.booleans() | _around(0, 1, 64, 100, 1000, 3600, 604800)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=80)
           | _text_near(40, 64, CHAT_MAX))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                           max_leaves=12)
MSGPACK_KEYS = (st.text(max_size=12) | st.binary(max_size=12) | st.integers(-5, 2**40)
                | st.none() | st.booleans() | st.floats(allow_nan=False))
MSGPACK_VALUES = st.recursive(
    SCALARS | st.binary(max_size=40)
    | st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8)),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(MSGPACK_KEYS, inner, max_size=4),
    max_leaves=12)
IDS = st.one_of(st.integers(-2**63, 2**63), st.text(max_size=70), st.none(), st.booleans(),
                st.floats(), st.lists(st.integers(-2**63, 2**63), max_size=2))
PLAUSIBLE = {  # values close to what each field takes, to get past the first check
    "text": _text_near(1, CHAT_MAX) | st.text(max_size=30),
    "name": _text_near(1, 40) | st.sampled_from(["Siam Orchard", "\u202eAnn", "\u200b",
                                                 "<b></b>", "Mei"]),
    "count": _around(1, 100),
    "seconds": _around(0, 1, 3600, 604800),
    "user_id": st.sampled_from(["someone", "guest-1a2b3c4d5e", "u" * 65, ""]),
    "message_id": st.sampled_from(["0" * 16, "nope"]),
    "product_id": st.sampled_from(["durian", "mango", "nope", "Durian"]),
    "sale_id": st.sampled_from(["sale_0000000000000000", "nope"]),
    "quantity": _around(1, 1000),
    "idempotency_key": _text_near(1, 64),
    "stock": _around(1, 1000000),
    "duration": _around(1, 86400),
    "per_user_limit": _around(1, 1000),
    "starts_in": _around(0, 86400),
    "price": st.sampled_from(["890.00", "0", "-1", "1e9", "NaN", "0.001"]),
    "limit": _around(1, 1000),
    "after": st.sampled_from(["ord_0", ""]),
    "slot": st.sampled_from(["host", "cohost", "nope"]),
    "session": st.text(max_size=20),
    "remove_messages": st.booleans(),
    "offer": st.sampled_from(["", "v=0\r\n", "x" * 2000]),
    "candidate": st.none() | st.fixed_dictionaries(
        {"candidate": st.sampled_from(["", "candidate:1 1 udp 1 127.0.0.1 9 typ host"]),
         "sdpMid": st.sampled_from(["0", None]), "sdpMLineIndex": st.integers(-1, 3)}),
}


@st.composite
def commands(draw: st.DrawFn, known: dict[str, frozenset[str]], binary: bool) -> dict:
    """A command object: a known command (or not), some of its fields (and maybe others),
    each with a plausible value or any value at all."""
    values = MSGPACK_VALUES if binary else JSON_VALUES
    # Mostly well-formed around one flaw, so that frames get past the first check.
    known_name = st.sampled_from(sorted(known))
    name = draw(known_name if draw(st.integers(0, 5)) else known_name | st.text(max_size=20)
                | values)
    fields = sorted(known.get(name, frozenset()) - {"id", "cmd"}) if isinstance(name, str) \
        else []
    message: dict = {}
    if draw(st.integers(0, 9)):
        message["id"] = draw(st.integers(0, 10**6) if draw(st.integers(0, 5)) else IDS)
    message["cmd"] = name
    for field in fields:
        if draw(st.integers(0, 3)):
            plausible = PLAUSIBLE.get(field, values)
            message[field] = draw(plausible if draw(st.integers(0, 3)) else values)
    if draw(st.integers(0, 9)) == 0:
        extra = st.text(max_size=10) | st.binary(max_size=6) | st.integers(-9, 9) if binary \
            else st.text(max_size=10)
        message[draw(extra)] = draw(values)
    return message


def _nested(depth: int) -> str:
    return '{"id": "deep", "cmd": "chat.send", "text": ' + "[" * depth + "]" * depth + "}"


def _padded(size: int) -> str:
    core = '{"id": "pad", "cmd": "ping"}'
    return core[:-1] + " " * max(0, size - len(core)) + "}"


@st.composite
def frames(draw: st.DrawFn, known: dict[str, frozenset[str]]) -> str | bytes:
    kind = draw(st.sampled_from(["json", "json", "json", "msgpack", "msgpack", "msgpack",
                                 "raw-text", "raw-bytes", "deep", "sized", "msgpack-keys"]))
    if kind == "json":
        return json.dumps(draw(commands(known, binary=False)))
    if kind == "msgpack":
        return msgpack.packb(draw(commands(known, binary=True)), use_bin_type=True,
                             strict_types=False)
    if kind == "raw-text":
        return draw(st.text(max_size=200) | JSON_VALUES.map(json.dumps))
    if kind == "raw-bytes":
        return draw(st.binary(max_size=200) | MSGPACK_VALUES.map(pack))
    if kind == "deep":
        return _nested(draw(st.sampled_from([MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, 500,
                                             MAX_FRAME // 2 - 30])))
    if kind == "sized":
        return _padded(draw(st.sampled_from([MAX_FRAME - 1, MAX_FRAME, MAX_FRAME + 1])))
    # A command whose map keys are of mixed types, at the top or one level down.
    key = draw(MSGPACK_KEYS)
    inner = {key: 1, "a": 2} if draw(st.booleans()) else {"candidate": {key: 1}}
    return msgpack.packb({"id": 1, "cmd": draw(st.sampled_from(sorted(known))), **inner},
                         use_bin_type=True)


# --- the run ----------------------------------------------------------------------------------
@pytest.fixture
def fuzzed_server(engine_kind, make_settings):
    """The whole app, rate limits opened wide so that frames reach the commands."""
    thread = ServerThread()
    faults = Faults()
    logging.getLogger().addHandler(faults)
    port = free_port()
    app = create_app(make_settings(
        engine_kind, max_frame_bytes=MAX_FRAME, chat_max_chars=CHAT_MAX,
        commands_per_second=100000.0, chat_per_second=100000.0, chat_burst=100000,
        buys_per_second=100000.0))
    runner = web.AppRunner(app)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        store = app[ENGINE].store
        await store.create_room(demo_room())
        await store.put_product(ROOM, demo_product(), create=True)
        await store.put_product(ROOM, demo_product("mango", name="Mango"), create=True)

    thread.run(start())
    known = {name: app[COMMANDS].get(name).fields for name in app[COMMANDS].names()}
    yield thread, f"http://127.0.0.1:{port}", known, faults
    thread.run(runner.cleanup())
    thread.stop()
    logging.getLogger().removeHandler(faults)


def test_every_frame_gets_a_documented_answer_and_the_room_stays_sound(fuzzed_server):
    thread, base_url, known, faults = fuzzed_server

    async def open_all() -> tuple[aiohttp.ClientSession, dict, aiohttp.ClientWebSocketResponse]:
        http = aiohttp.ClientSession()
        channels = {(role, fmt): Channel(http, base_url, role, fmt) for role, fmt in SENDERS}
        for channel in channels.values():
            await channel.open()
        bystander = await http.ws_connect(
            f"{base_url}/ws/rooms/{ROOM}?access_token={token(ROOM, user='bystander')}")
        return http, channels, bystander

    http, channels, bystander = thread.run(open_all())

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(sender=st.sampled_from(SENDERS), data=frames(known))
    def one_frame(sender: tuple[str, str], data: str | bytes) -> None:
        answer = thread.run(channels[sender].exchange(data))
        size = len(data.encode() if isinstance(data, str) else data)
        if answer["type"] == "closed":
            assert answer["code"] in CLOSES, answer
            assert size > MAX_FRAME and answer["code"] == 1009, (
                f"closed with {answer['code']} after a frame of {size} bytes")
            return
        assert size <= MAX_FRAME, f"a frame of {size} bytes was answered: {answer}"
        if answer["type"] == "error":
            assert answer["code"] in ERRORS, answer
        assert not faults.records, faults.records[0].getMessage()

    try:
        one_frame()
        assert not faults.records, [r.getMessage() for r in faults.records]

        async def still_sound() -> None:
            # The bystander, connected all along, still answers and hears a host's chat.
            host = await http.ws_connect(
                f"{base_url}/ws/rooms/{ROOM}?access_token="
                + token(ROOM, role="host", user="after-host", name="After"))
            await bystander.send_json({"id": "p", "cmd": "ping"})
            await host.send_json({"id": "c", "cmd": "chat.send", "text": "still here"})
            heard = False
            while not heard:
                frame = await bystander.receive_json(timeout=15)
                heard = (frame["type"] == "chat.message"
                         and frame["message"]["text"] == "still here")
            await host.close()

        thread.run(still_sound())
    finally:
        async def close_all() -> None:
            for channel in channels.values():
                if channel.ws is not None:
                    await channel.ws.close()
            await bystander.close()
            await http.close()

        thread.run(close_all())
