"""Request and reply between instances, over the engine's instance messages.

A room's media lives on one instance (engine/media.py). Signaling for it that reaches another
instance (a room channel command, a WHIP/WHEP request behind a load balancer) is sent to that
instance as a request and answered there; only SDP and candidates travel, the media then flows
between the client and the owning instance directly.

    request: {"k": "req", "id", "from", "op", "args"}
    reply:   {"k": "rep", "id", "ok": true, "result"} | {"k": "rep", "id", "ok": false, "error"}
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from liveroom.domain.errors import STATUS, LiveroomError
from liveroom.engine import Broker

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0

Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class Router:
    def __init__(self, broker: Broker, handler: Handler) -> None:
        self._broker = broker
        self._handler = handler
        self._pending: dict[str, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()
        broker.attach_instance(self._on_message)

    @property
    def instance(self) -> str:
        return self._broker.instance_id

    async def request(self, instance: str, op: str, args: dict[str, Any],
                      timeout: float = REQUEST_TIMEOUT,
                      gone: LiveroomError | None = None) -> dict[str, Any]:
        """Run `op` on `instance`; `gone` is raised when no such instance listens (else
        unavailable: its claims have not lapsed yet)."""
        request_id = secrets.token_hex(8)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            delivered = await self._broker.send_to_instance(instance, {
                "k": "req", "id": request_id, "from": self.instance, "op": op, "args": args})
            if not delivered:
                raise gone or LiveroomError("unavailable", "the instance holding this room's "
                                            "video is not reachable; retry in a few seconds")
            reply = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise LiveroomError("unavailable", "the instance holding this room's video did not "
                                "answer in time") from None
        finally:
            self._pending.pop(request_id, None)
        if reply["ok"]:
            return reply["result"]
        error = reply["error"]
        code = error.pop("code", "internal")
        message = error.pop("message", "")
        raise LiveroomError(code if code in STATUS else "internal", message, **error)

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("k")
        if kind == "rep":
            future = self._pending.get(str(message.get("id")))
            if future is not None and not future.done():
                future.set_result(message)
        elif kind == "req":
            task = asyncio.ensure_future(self._serve(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"k": "rep", "id": message["id"]}
        try:
            reply.update(ok=True, result=await self._handler(message["op"], message["args"]))
        except LiveroomError as error:
            reply.update(ok=False, error=error.as_dict())
        except Exception:
            log.exception("routed %s failed", message.get("op"))
            reply.update(ok=False, error={"code": "internal",
                                          "message": "the server failed to run this request"})
        try:
            await self._broker.send_to_instance(message["from"], reply)
        except LiveroomError as exc:
            log.warning("could not answer a routed %s: %s", message.get("op"), exc)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for future in self._pending.values():
            if not future.done():
                future.cancel()
