"""The room channel's commands: parse a frame, check it, run it, answer with an ack or an error.

Every command is a JSON object (or msgpack map) with an `id` the answer repeats and a `cmd`.
A command is registered with the capability it needs and the fields it accepts; anything else in
the frame is refused before the handler runs, with a code that says what was wrong.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from aiohttp import web

from ..config import Settings
from ..domain import auth
from ..domain.codec import from_json, unpack
from ..domain.errors import EngineUnavailable, LiveroomError
from ..domain.validation import (
    check_display_name,
    check_int,
    check_slug,
    check_text,
    check_user_id,
)
from ..engine import Engine
from ..metrics import METRICS
from .connection import Connection
from .fanout import Fanout

log = logging.getLogger(__name__)

Handler = Callable[["Context", Connection, dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Command:
    name: str
    capability: str | None
    fields: frozenset[str]
    handler: Handler


@dataclass
class Context:
    engine: Engine
    fanout: Fanout
    settings: Settings
    # Packages that add commands (signaling, for one) keep their state on the app.
    app: web.Application


COMMANDS: dict[str, Command] = {}
MAX_LIKES_PER_COMMAND = 100
MAX_MUTE_SECONDS = 7 * 86400
MAX_SLOW_MODE_SECONDS = 3600


def command(name: str, *, capability: str | None, fields: tuple[str, ...] = ()):
    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, capability, frozenset(fields) | {"id", "cmd"}, handler)
        return handler

    return register


# --- parsing -----------------------------------------------------------------------------------
def parse_frame(data: str | bytes) -> dict[str, Any]:
    """A text frame is JSON, a binary frame msgpack; either must hold an object."""
    try:
        message = from_json(data) if isinstance(data, str) else unpack(data)
    except (ValueError, msgpack.UnpackException) as exc:
        kind = "JSON" if isinstance(data, str) else "msgpack"
        raise LiveroomError("invalid_json", f"the frame is not valid {kind}: {exc}") from None
    if not isinstance(message, dict):
        raise LiveroomError("invalid_json", "a command must be an object")
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
        message = parse_frame(data)
        cid = command_id(message)
        if conn.draining:
            raise LiveroomError("draining", "this server is restarting: send it again after "
                                "reconnecting")
        wait = conn.commands.take()
        if wait:
            raise LiveroomError(
                "rate_limited", "too many commands; slow down",
                retry_after_ms=int(wait * 1000) + 1,
            )
        name = message.get("cmd")
        spec = COMMANDS.get(name) if isinstance(name, str) else None
        if spec is None:
            raise LiveroomError("unknown_command", f"unknown command {name!r}")
        if spec.capability and not conn.identity.can(spec.capability):
            raise LiveroomError(
                "forbidden", f"{spec.name} needs the {spec.capability!r} grant, "
                f"which a {conn.identity.role} does not have",
            )
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
            ctx.app[METRICS].commands.labels(command=spec.name).observe(
                time.perf_counter() - started)
        conn.send({"type": "ack", "id": cid, **(result or {})})
    except LiveroomError as error:
        conn.send_error(error, cid)
    except Exception:
        log.exception("command failed on connection %s", conn.id)
        conn.send_error(LiveroomError("internal", "the server failed to run this command"), cid)


def _by(conn: Connection) -> str:
    return conn.identity.user_id


def required(message: dict[str, Any], field: str) -> Any:
    if field not in message:
        raise LiveroomError("invalid_field", f"{field}: is required", field=field)
    return message[field]


# --- commands ----------------------------------------------------------------------------------
@command("ping", capability=None)
async def ping(ctx: Context, conn: Connection, message: dict) -> dict:
    return {"time": int(time.time() * 1000)}


@command("profile.set", capability="watch", fields=("name",))
async def profile_set(ctx: Context, conn: Connection, message: dict) -> dict:
    identity = conn.identity
    if not identity.guest and identity.has_token_name:
        raise LiveroomError("forbidden", "your display name comes from your access token")
    name = check_display_name(required(message, "name"))
    conn.rename(name)
    await ctx.engine.presence.join(conn.room, conn.id, conn.member())
    if not identity.guest:
        return {"name": name, "guest_token": None}
    # The name goes into a new guest token, so a reconnect keeps it.
    guest_token = auth.mint(
        ctx.settings.secret, room=conn.room, role="viewer", user_id=identity.user_id,
        name=name, guest=True,
    )
    return {"name": name, "guest_token": guest_token}


@command("chat.send", capability="chat", fields=("text",))
async def chat_send(ctx: Context, conn: Connection, message: dict) -> dict:
    text = check_text(
        required(message, "text"), "text", max_chars=ctx.settings.chat_max_chars
    )
    identity = conn.identity
    if not identity.name:
        raise LiveroomError("name_required", "choose a display name (profile.set) to chat")
    wait = conn.chat.take()
    if wait:
        raise LiveroomError(
            "rate_limited", "you are sending messages too fast",
            retry_after_ms=int(wait * 1000) + 1,
        )
    chat_message = {
        "id": secrets.token_hex(8),
        "user_id": identity.user_id,
        "name": identity.name,
        "role": identity.role,
        "text": text,
        "ts": int(time.time() * 1000),
    }
    privileged = identity.can("moderate")
    seq = await ctx.engine.store.post_chat(conn.room, chat_message, privileged=privileged)
    return {"message_id": chat_message["id"], "seq": seq}


@command("like", capability="like", fields=("count",))
async def like(ctx: Context, conn: Connection, message: dict) -> dict:
    count = check_int(message.get("count", 1), "count", low=1, high=MAX_LIKES_PER_COMMAND)
    # Aggregated: the tickers publish one likes event per room and interval, not one per tap.
    ctx.fanout.add_likes(conn.room, count)
    return {}


@command("chat.delete", capability="moderate", fields=("message_id",))
async def chat_delete(ctx: Context, conn: Connection, message: dict) -> dict:
    message_id = required(message, "message_id")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= 64:
        raise LiveroomError("invalid_field", "message_id: must be a message id", field="message_id")
    seq = await ctx.engine.store.delete_chat(conn.room, message_id, _by(conn))
    return {"seq": seq}


async def _moderated_user(ctx: Context, conn: Connection, message: dict, action: str) -> str:
    """The user a mute or ban is for: not oneself and not one of the room's staff (roles that
    moderate: moderator, host, admin).

    Staff tokens are not subject to mutes and bans (the operator revokes them by not issuing
    them), so refusing here tells the moderator so instead of acknowledging a no-op."""
    user_id = check_user_id(required(message, "user_id"))
    if user_id == conn.identity.user_id:
        raise LiveroomError("invalid_field", f"user_id: you cannot {action} yourself",
                            field="user_id")
    staff = next((m for m in await ctx.engine.presence.members(conn.room)
                  if m.get("user_id") == user_id
                  and "moderate" in auth.CAPABILITIES.get(m.get("role"), ())), None)
    if staff is not None:
        raise LiveroomError("forbidden", f"{user_id} is this room's {staff['role']}; staff "
                            f"cannot be {action}d", field="user_id")
    return user_id


@command("user.mute", capability="moderate", fields=("user_id", "seconds"))
async def user_mute(ctx: Context, conn: Connection, message: dict) -> dict:
    user_id = await _moderated_user(ctx, conn, message, "mute")
    seconds = check_int(required(message, "seconds"), "seconds", low=1, high=MAX_MUTE_SECONDS)
    until = int(time.time() * 1000) + seconds * 1000
    seq = await ctx.engine.store.mute(conn.room, user_id, until, _by(conn))
    return {"seq": seq, "until": until}


@command("user.unmute", capability="moderate", fields=("user_id",))
async def user_unmute(ctx: Context, conn: Connection, message: dict) -> dict:
    user_id = check_user_id(required(message, "user_id"))
    return {"seq": await ctx.engine.store.unmute(conn.room, user_id, _by(conn))}


@command("user.ban", capability="moderate", fields=("user_id",))
async def user_ban(ctx: Context, conn: Connection, message: dict) -> dict:
    user_id = await _moderated_user(ctx, conn, message, "ban")
    return {"seq": await ctx.engine.store.ban(conn.room, user_id, _by(conn))}


@command("user.unban", capability="moderate", fields=("user_id",))
async def user_unban(ctx: Context, conn: Connection, message: dict) -> dict:
    user_id = check_user_id(required(message, "user_id"))
    return {"seq": await ctx.engine.store.unban(conn.room, user_id, _by(conn))}


@command("room.slow_mode", capability="moderate", fields=("seconds",))
async def room_slow_mode(ctx: Context, conn: Connection, message: dict) -> dict:
    seconds = check_int(
        required(message, "seconds"), "seconds", low=0, high=MAX_SLOW_MODE_SECONDS
    )
    return {"seq": await ctx.engine.store.set_slow_mode(conn.room, seconds, _by(conn))}


@command("product.pin", capability="pin", fields=("product_id",))
async def product_pin(ctx: Context, conn: Connection, message: dict) -> dict:
    product_id = check_slug(required(message, "product_id"), "product_id")
    return {"seq": await ctx.engine.store.pin(conn.room, product_id, _by(conn))}


@command("product.unpin", capability="pin")
async def product_unpin(ctx: Context, conn: Connection, message: dict) -> dict:
    return {"seq": await ctx.engine.store.pin(conn.room, None, _by(conn))}


@command("presence.list", capability="moderate")
async def presence_list(ctx: Context, conn: Connection, message: dict) -> dict:
    return {"members": await ctx.engine.presence.members(conn.room)}
