"""The room channel's commands: parse a frame, check it, run it, answer with an ack or an error.

Every command is a JSON object (or msgpack map) with an `id` the answer repeats and a `cmd`.
A command is defined with the capability it needs and the fields it accepts; anything else in
the frame is refused before the handler runs, with a code that says what was wrong.

Commands are defined in tables (room_commands.py, sale_commands.py, signaling's commands.py);
each app builds its own CommandSet from the tables of the parts it is made of.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from aiohttp import web

from ..config import Settings
from ..domain.codec import from_json, unpack
from ..domain.errors import EngineUnavailable, LiveroomError
from ..engine import Engine
from ..gate import RoomGate
from ..metrics import Metrics
from .connection import Connection
from .fanout import Fanout
from .frame_shape import check_shape, too_deep
from .sale_records import SaleRecords
from .tally import Tally

log = logging.getLogger(__name__)

Handler = Callable[["Context", Connection, dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Command:
    name: str
    capability: str | None
    fields: frozenset[str]
    handler: Handler


class CommandTable(list[Command]):
    """The commands one part defines: `@table.command(name, capability=..., fields=...)`."""

    def command(self, name: str, *, capability: str | None, fields: tuple[str, ...] = ()
                ) -> Callable[[Handler], Handler]:
        def define(handler: Handler) -> Handler:
            self.append(Command(name, capability, frozenset(fields) | {"id", "cmd"}, handler))
            return handler

        return define


class CommandSet:
    """The commands an app answers: the tables of the parts it is made of."""

    def __init__(self, *tables: CommandTable) -> None:
        self._commands: dict[str, Command] = {}
        for table in tables:
            self.include(table)

    def include(self, table: CommandTable) -> None:
        for spec in table:
            if spec.name in self._commands:
                raise ValueError(f"the command {spec.name!r} is defined twice")
            self._commands[spec.name] = spec

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def names(self) -> list[str]:
        return sorted(self._commands)


@dataclass(frozen=True)
class Context:
    """What commands run with: the same for every connection of the app."""

    engine: Engine
    fanout: Fanout
    settings: Settings
    metrics: Metrics
    commands: CommandSet
    tally: Tally
    sales: SaleRecords
    # Parts that add commands (signaling, for one) keep their own state on the app.
    app: web.Application


COMMANDS = web.AppKey("commands", CommandSet)
CONTEXT = web.AppKey("command_context", Context)


# --- parsing -----------------------------------------------------------------------------------
def parse_frame(data: str | bytes) -> dict[str, Any]:
    """A text frame is JSON, a binary frame msgpack; either must hold an object of the shape
    frame_shape.py allows."""
    try:
        message = from_json(data) if isinstance(data, str) else unpack(data)
    except RecursionError:
        # The JSON decoder recurses once per level: thousands of "[" fit under the size limit.
        raise too_deep() from None
    except (ValueError, msgpack.UnpackException) as exc:
        kind = "JSON" if isinstance(data, str) else "msgpack"
        raise LiveroomError("invalid_json", f"the frame is not valid {kind}: {exc}") from None
    if not isinstance(message, dict):
        raise LiveroomError("invalid_json", "a command must be an object")
    check_shape(message)
    return message


def command_id(message: dict[str, Any]) -> Any:
    """The id to answer with; refuse ids that are not short strings or integers."""
    cid = message.get("id")
    if cid is None:
        raise LiveroomError("invalid_field", "id: every command needs an id", field="id")
    if isinstance(cid, bool) or not isinstance(cid, (str, int)) or len(str(cid)) > 64:
        raise LiveroomError(
            "invalid_field", "id: must be a string or integer of at most 64 characters",
            field="id",
        )
    return cid


async def dispatch(ctx: Context, conn: Connection, data: str | bytes) -> None:
    """Run one frame from the client and answer it. Never raises for the client's mistakes."""
    cid = None
    try:
        # Every frame takes its place in the rate, malformed ones too, so that garbage slows a
        # client down like commands do; the refusal names the command's id when there is one.
        wait = conn.commands.take()
        message = parse_frame(data)
        cid = command_id(message)
        if conn.draining:
            raise LiveroomError("draining", "this server is restarting: send it again after "
                                "reconnecting")
        if wait:
            raise LiveroomError(
                "rate_limited", "too many commands; slow down",
                retry_after_ms=int(wait * 1000) + 1,
            )
        name = message.get("cmd")
        spec = ctx.commands.get(name) if isinstance(name, str) else None
        if spec is None:
            raise LiveroomError("unknown_command", f"unknown command {name!r}")
        if spec.capability:
            RoomGate.allow(conn.identity, spec.capability)
        unknown = set(message) - spec.fields
        if unknown:
            field = sorted(unknown)[0]
            raise LiveroomError(
                "invalid_field", f"{field}: {spec.name} has no such field", field=field
            )
        timeout = ctx.settings.request_timeout
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                result = await spec.handler(ctx, conn, message)
        except TimeoutError:
            raise EngineUnavailable(f"the room service did not answer within {timeout:g} s; "
                                    "retry (a buy keeps its idempotency key)") from None
        finally:
            ctx.metrics.commands.labels(command=spec.name).observe(
                time.perf_counter() - started)
        conn.send({"type": "ack", "id": cid, **(result or {})})
    except LiveroomError as error:
        conn.send_error(error, cid)
    except Exception:
        log.exception("command failed on connection %s", conn.id)
        conn.send_error(LiveroomError("internal", "the server failed to run this command"), cid)


def required(message: dict[str, Any], field: str) -> Any:
    if field not in message:
        raise LiveroomError("invalid_field", f"{field}: is required", field=field)
    return message[field]
