"""The publishers: chat at a fixed rate, each message stamped with its intended send time.

One publisher connection per server instance (letters a, b, ...); message k of the run is sent
by publisher k % P as that publisher's counter k // P, at t0 + k / rate. A publisher that falls
behind sends at once, still stamped with the intended time, so lateness anywhere (publisher,
server, Redis, fan-out) shows up in the latency.

The payload has the shape of liveroom's `chat.message` event for all three systems, so every
system writes about the same bytes per delivery: liveroom builds it from a `chat.send` command,
the lean relay and Socket.IO get the whole event from the publisher and pass it on.

`publisher_main` runs in a process of its own:
    <- connected
    -> go {t0, total}
    <- done {sent, rejected, errors, unacked, max_late_ms}
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import traceback
from typing import Any

import aiohttp
from common import PUBLISHER_IDS, marker

ACK_TIMEOUT = 20.0


def chat_text(pub: str, counter: int, intended: float) -> str:
    return f"{marker(pub, counter, intended)} flash sale: 20% off the blue kettle, who wants one?"


def chat_event(pub: str, k: int, text: str) -> dict[str, Any]:
    return {
        "type": "chat.message",
        "seq": k,
        "message": {
            "id": secrets.token_hex(8), "user_id": f"pub-{pub}", "name": f"Publisher {pub}",
            "role": "moderator", "text": text, "ts": int(time.time() * 1000),
        },
    }


class Publisher:
    """One publishing connection; subclasses speak each system's protocol."""

    def __init__(self, pub: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.pub = pub
        self.ws = ws
        self.sent = 0
        self.rejected: list[int] = []
        self.errors: dict[str, int] = {}
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.on_text(msg.data)

    def on_text(self, data: str) -> None:
        pass

    async def send(self, k: int, counter: int, intended: float) -> None:
        raise NotImplementedError

    async def settle(self, deadline: float) -> int:
        """Wait for outstanding answers; return how many never came."""
        return 0


class LiveroomPublisher(Publisher):
    def __init__(self, pub, ws) -> None:
        super().__init__(pub, ws)
        self.answered = 0

    def on_text(self, data: str) -> None:
        if data.startswith('{"type":"ack"'):
            self.answered += 1
        elif data.startswith('{"type":"error"'):
            frame = json.loads(data)
            if isinstance(frame.get("id"), int):
                self.answered += 1
                self.rejected.append(frame["id"])
            self.errors[frame.get("code", "?")] = self.errors.get(frame.get("code", "?"), 0) + 1

    async def send(self, k: int, counter: int, intended: float) -> None:
        text = chat_text(self.pub, counter, intended)
        await self.ws.send_str(json.dumps({"id": counter, "cmd": "chat.send", "text": text}))
        self.sent += 1

    async def settle(self, deadline: float) -> int:
        while self.answered < self.sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.sent - self.answered


class LeanPublisher(Publisher):
    async def send(self, k: int, counter: int, intended: float) -> None:
        event = chat_event(self.pub, k, chat_text(self.pub, counter, intended))
        await self.ws.send_str(json.dumps(event, separators=(",", ":")))
        self.sent += 1


class SocketIOPublisher(Publisher):
    def on_text(self, data: str) -> None:
        if data == "2":  # Engine.IO ping
            asyncio.ensure_future(self.ws.send_str("3"))

    async def send(self, k: int, counter: int, intended: float) -> None:
        event = chat_event(self.pub, k, chat_text(self.pub, counter, intended))
        await self.ws.send_str("42" + json.dumps(["chat", event], separators=(",", ":")))
        self.sent += 1


async def _open(session: aiohttp.ClientSession, kind: str, pub: str, target: dict) -> Publisher:
    url = f"http://{target['host']}:{target['port']}{target['path']}"
    ws = await session.ws_connect(url, autoping=True, max_msg_size=0)
    if kind == "liveroom":
        while True:  # welcome, then snapshot
            msg = await ws.receive_json(timeout=10)
            if msg["type"] == "snapshot":
                return LiveroomPublisher(pub, ws)
            if msg["type"] == "error":
                raise RuntimeError(f"publisher refused: {msg}")
    if kind == "socketio":
        opened = await ws.receive_str(timeout=10)
        assert opened.startswith("0{"), opened
        await ws.send_str("40")
        while not (await ws.receive_str(timeout=10)).startswith("40"):
            pass
        return SocketIOPublisher(pub, ws)
    return LeanPublisher(pub, ws)


async def _run(pipe, cfg: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()

    async def recv():
        return await loop.run_in_executor(None, pipe.recv)

    async with aiohttp.ClientSession() as session:
        pubs = [
            await _open(session, cfg["kind"], PUBLISHER_IDS[i], target)
            for i, target in enumerate(cfg["targets"])
        ]
        pipe.send(("connected", None))
        command, args = await recv()
        assert command == "go", command
        t0, total, rate = args["t0"], args["total"], args["rate"]
        max_late = 0.0
        for k in range(total):
            intended = t0 + k / rate
            delay = intended - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                max_late = max(max_late, -delay)
            await pubs[k % len(pubs)].send(k, k // len(pubs), intended)
        deadline = time.monotonic() + ACK_TIMEOUT
        unacked = sum([await p.settle(deadline) for p in pubs])
        errors: dict[str, int] = {}
        for p in pubs:
            for code, n in p.errors.items():
                errors[code] = errors.get(code, 0) + n
        pipe.send(("done", {
            "sent": {p.pub: p.sent for p in pubs},
            "rejected": {p.pub: p.rejected for p in pubs},
            "errors": errors,
            "unacked": unacked,
            "max_late_ms": max_late * 1000,
        }))
        await recv()  # close
        for p in pubs:
            p.reader.cancel()
            await p.ws.close()


def publisher_main(pipe, cfg: dict[str, Any]) -> None:
    try:
        asyncio.run(_run(pipe, cfg))
    except Exception:
        pipe.send(("error", traceback.format_exc()))
    finally:
        pipe.close()
