"""A Python client for the room channel: connect with a token, send commands and await their
answers, iterate the room's events, and resume after a dropped connection without losing any.

    async with RoomClient("http://127.0.0.1:8080", "thailand", token=token) as room:
        await room.chat("hello")
        async for event in room.events():
            print(event["type"], event)

Events are dicts as documented in docs/protocol.md. After a drop the client reconnects with the
last sequence number it saw; the server replays what was missed, or sends a fresh snapshot marked
`"resync": true`, which `events()` yields like any event so the caller can rebuild its view.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
from typing import Any, AsyncIterator

import aiohttp

from ..domain.codec import from_json, pack, to_json, unpack

log = logging.getLogger(__name__)

# Close codes after which reconnecting cannot help (docs/protocol.md).
FINAL_CLOSE_CODES = {1000, 1007, 1008, 1009, 4400, 4401, 4403, 4404}
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)
# 1012: the instance drains. Reconnect at once (the load balancer picks another instance),
# spread over this many seconds so that its viewers do not all arrive in the same instant.
SERVICE_RESTART = 1012
RESTART_SPREAD = 0.25


class CommandError(Exception):
    """The server refused a command; `code` is one of the protocol's error codes."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"{frame.get('code')}: {frame.get('message')}")
        self.code = frame.get("code")
        self.message = frame.get("message")
        self.frame = frame


class ChannelClosed(Exception):
    """The connection ended for good (refused, banned, room deleted, or closed by us)."""

    def __init__(self, code: int | None, reason: str = "", error: dict | None = None) -> None:
        super().__init__(f"room channel closed ({code}) {reason}".strip())
        self.code = code
        self.reason = reason
        self.error = error


class RoomClient:
    def __init__(
        self,
        base_url: str,
        room: str,
        *,
        token: str | None = None,
        fmt: str = "json",
        reconnect: bool = True,
        session: aiohttp.ClientSession | None = None,
        headers: dict[str, str] | None = None,
        watch: str = "live",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.room = room
        self.token = token
        self.fmt = fmt
        self.watch = watch  # "replay": in the room to shop, not counted as watching it live
        self.reconnect = reconnect
        self.headers = headers or {}
        self.welcome: dict[str, Any] | None = None
        self.snapshot: dict[str, Any] | None = None
        self.epoch: str | None = None
        self.seq: int | None = None
        self.reconnects = 0
        self.last_close_code: int | None = None  # of the last connection the server ended
        # The room's live viewer count, kept current as frames arrive (not as they are read).
        self.viewers: int | None = None
        self._session = session
        self._own_session = session is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[Any, asyncio.Future] = {}
        self._events: asyncio.Queue = asyncio.Queue()
        self._reader: asyncio.Task | None = None
        self._connected = asyncio.Event()
        self._closed: ChannelClosed | None = None
        self._last_error: dict[str, Any] | None = None  # the reason sent before a close

    # --- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> RoomClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def connect(self) -> RoomClient:
        """Connect and wait for the welcome and the snapshot; raise ChannelClosed if refused."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        await self._open()
        self._reader = asyncio.create_task(self._read_forever())
        return self

    async def close(self) -> None:
        self.reconnect = False
        if self._closed is None:
            self._closed = ChannelClosed(1000, "closed by client")
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self._fail_pending(self._closed)
        self._events.put_nowait(self._closed)
        if self._own_session and self._session is not None:
            await self._session.close()

    @property
    def last_error(self) -> dict[str, Any] | None:
        """The last error frame not tied to a command: why the server closed (`draining`...)."""
        return self._last_error

    def url(self) -> str:
        params = {"format": self.fmt}
        if self.watch != "live":
            params["watch"] = self.watch
        if self.token:
            params["access_token"] = self.token
        if self.epoch is not None and self.seq is not None:
            params.update(epoch=self.epoch, since=str(self.seq))
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{self.base_url}/ws/rooms/{self.room}?{query}"

    async def _open(self) -> None:
        assert self._session is not None
        ws = await self._session.ws_connect(
            self.url(), headers=self.headers, autoping=True, heartbeat=30, max_msg_size=0
        )
        # The first frames say whether we are in: welcome, then snapshot or resumed.
        while True:
            msg = await ws.receive()
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                raise ChannelClosed(ws.close_code, str(msg.extra or ""))
            frame = self._decode(msg.data)
            kind = frame.get("type")
            if kind == "error":
                closing = await ws.receive()
                raise ChannelClosed(ws.close_code or closing.data, frame.get("code", ""), frame)
            if kind == "welcome":
                self.welcome = frame
                if frame.get("guest_token"):
                    self.token = frame["guest_token"]  # keep our guest identity on reconnect
                continue
            if kind == "snapshot":
                self.snapshot = frame
                self.viewers = frame["viewers"]
                self.epoch, self.seq = frame["epoch"], frame["seq"]
                if frame.get("resync"):
                    self._events.put_nowait(frame)
            elif kind == "resumed":
                pass
            else:
                self._handle_event(frame)
            break
        self._ws = ws
        self._connected.set()

    async def _read_forever(self) -> None:
        while True:
            ws = self._ws
            assert ws is not None
            async for msg in ws:
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self._on_frame(self._decode(msg.data))
            code = self.last_close_code = ws.close_code
            self._connected.clear()
            if not self.reconnect or code in FINAL_CLOSE_CODES:
                self._closed = ChannelClosed(code, "closed by server", self._last_error)
                self._fail_pending(self._closed)
                self._events.put_nowait(self._closed)
                return
            self._fail_pending(ConnectionError(f"connection lost ({code}); command not answered"))
            await self._reconnect(code)
            if self._closed is not None:
                return

    async def _reconnect(self, code: int | None = None) -> None:
        for attempt in itertools.count():
            if attempt == 0 and code == SERVICE_RESTART:
                await asyncio.sleep(random.uniform(0, RESTART_SPREAD))
            else:
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            try:
                await self._open()
                self.reconnects += 1
                return
            except ChannelClosed as exc:
                if exc.code in FINAL_CLOSE_CODES:
                    self._closed = exc
                    self._events.put_nowait(exc)
                    return
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                log.debug("reconnect to %s failed: %s", self.room, exc)

    # --- frames ------------------------------------------------------------------------------
    def _decode(self, data: str | bytes) -> dict[str, Any]:
        return from_json(data) if isinstance(data, str) else unpack(data)

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "error" and frame.get("code") == "draining":
            self._connected.clear()  # the server closes this connection next: wait for another
        if kind in ("ack", "error") and frame.get("id") in self._pending:
            future = self._pending.pop(frame["id"])
            if not future.done():
                if kind == "ack":
                    future.set_result(frame)
                else:
                    future.set_exception(CommandError(frame))
        elif kind == "error":
            self._last_error = frame
            log.warning("server error on %s: %s", self.room, frame)
        else:
            self._handle_event(frame)

    def _handle_event(self, frame: dict[str, Any]) -> None:
        if "seq" in frame:
            self.seq = frame["seq"]
        if frame.get("type") == "viewers":
            self.viewers = frame["count"]
        elif frame.get("type") == "snapshot":
            self.viewers = frame["viewers"]
        self._events.put_nowait(frame)

    def _fail_pending(self, exc: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(exc)

    # --- commands ----------------------------------------------------------------------------
    async def command(self, cmd: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Send a command and return its ack; raise CommandError with the server's code."""
        if self._closed is not None:
            raise self._closed
        await asyncio.wait_for(self._connected.wait(), timeout)
        cid = next(self._ids)
        frame = {"id": cid, "cmd": cmd, **fields}
        future = asyncio.get_running_loop().create_future()
        self._pending[cid] = future
        ws = self._ws
        assert ws is not None
        if self.fmt == "msgpack":
            await ws.send_bytes(pack(frame))
        else:
            await ws.send_str(to_json(frame))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(cid, None)

    async def set_name(self, name: str) -> dict[str, Any]:
        """Choose a guest's display name; it is kept across reconnects."""
        ack = await self.command("profile.set", name=name)
        if ack["guest_token"]:
            self.token = ack["guest_token"]
        return ack

    async def chat(self, text: str) -> dict[str, Any]:
        return await self.command("chat.send", text=text)

    async def like(self, count: int = 1) -> dict[str, Any]:
        return await self.command("like", count=count)

    async def pin(self, product_id: str) -> dict[str, Any]:
        return await self.command("product.pin", product_id=product_id)

    async def unpin(self) -> dict[str, Any]:
        return await self.command("product.unpin")

    async def delete_message(self, message_id: str) -> dict[str, Any]:
        return await self.command("chat.delete", message_id=message_id)

    async def mute(self, user_id: str, seconds: int) -> dict[str, Any]:
        return await self.command("user.mute", user_id=user_id, seconds=seconds)

    async def ban(self, user_id: str) -> dict[str, Any]:
        return await self.command("user.ban", user_id=user_id)

    async def unban(self, user_id: str) -> dict[str, Any]:
        return await self.command("user.unban", user_id=user_id)

    async def slow_mode(self, seconds: int) -> dict[str, Any]:
        return await self.command("room.slow_mode", seconds=seconds)

    # --- flash sales -------------------------------------------------------------------------
    async def create_sale(self, product_id: str, *, stock: int, duration: int,
                          per_user_limit: int = 1, starts_in: int = 0,
                          price: str | None = None) -> dict[str, Any]:
        """Start (or schedule) a flash sale; returns the sale as the server sees it."""
        fields: dict[str, Any] = {"product_id": product_id, "stock": stock,
                                  "duration": duration, "per_user_limit": per_user_limit,
                                  "starts_in": starts_in}
        if price is not None:
            fields["price"] = price
        return (await self.command("sale.create", **fields))["sale"]

    async def end_sale(self, sale_id: str) -> dict[str, Any]:
        return (await self.command("sale.end", sale_id=sale_id))["sale"]

    async def cancel_sale(self, sale_id: str) -> dict[str, Any]:
        return (await self.command("sale.cancel", sale_id=sale_id))["sale"]

    async def buy(self, sale_id: str, quantity: int = 1, *, idempotency_key: str | None = None,
                  attempts: int = 5) -> dict[str, Any]:
        """Buy, safely retried: the same idempotency key goes with every attempt, so a buy
        whose answer was lost on a dropped connection, or that a draining server turned away,
        returns the same order, never a second.
        Returns the ack: {"order": ..., "created": bool}; refusals raise CommandError."""
        return await self._retried("sale.buy", attempts, sale_id=sale_id, quantity=quantity,
                                   idempotency_key=idempotency_key or secrets.token_hex(12))

    async def buy_product(self, product_id: str, quantity: int = 1, *,
                          idempotency_key: str | None = None, attempts: int = 5
                          ) -> dict[str, Any]:
        """Buy a product at its own price, outside any sale; retried like buy()."""
        return await self._retried("product.buy", attempts, product_id=product_id,
                                   quantity=quantity,
                                   idempotency_key=idempotency_key or secrets.token_hex(12))

    async def _retried(self, cmd: str, attempts: int, **fields: Any) -> dict[str, Any]:
        """A command sent again, unchanged (its idempotency key too), while the answer is
        lost or the server drains."""
        for attempt in range(attempts):
            try:
                return await self.command(cmd, **fields)
            except CommandError as refused:
                if refused.code != "draining" or attempt == attempts - 1:
                    raise
            except (ConnectionError, asyncio.TimeoutError):
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    async def my_orders(self) -> list[dict[str, Any]]:
        """All of this buyer's orders in the room, oldest first (read a page at a time)."""
        orders: list[dict[str, Any]] = []
        after = None
        while True:
            page = await self.command("orders.mine", limit=1000,
                                      **({"after": after} if after else {}))
            orders += page["orders"]
            after = page.get("next")
            if not after:
                return orders

    # --- events ------------------------------------------------------------------------------
    async def next_event(self, *types: str, timeout: float | None = 10.0) -> dict[str, Any]:
        """The next event (of one of `types`, skipping others); raise ChannelClosed at the end."""
        async with asyncio.timeout(timeout):
            while True:
                item = await self._events.get()
                if isinstance(item, ChannelClosed):
                    self._events.put_nowait(item)  # every later call sees the end too
                    raise item
                if not types or item.get("type") in types:
                    return item

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Every event until the channel closes for good."""
        while True:
            try:
                yield await self.next_event(timeout=None)
            except ChannelClosed:
                return
