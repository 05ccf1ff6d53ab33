"""The room channel's own commands: chat, likes, profile, moderation, pins, presence."""

from __future__ import annotations

import secrets
import time

from ..domain import auth
from ..domain.errors import LiveroomError
from ..domain.names import check_display_name, name_key, reserved_name_keys
from ..domain.public_ids import public_user_id, target_id
from ..domain.validation import (
    check_bool,
    check_int,
    check_slug,
    check_text,
    check_user_id,
)
from ..guests import GUESTS
from .allowances import ALLOWANCES
from .commands import CommandTable, Context, required
from .connection import Connection

ROOM_COMMANDS = CommandTable()
MAX_LIKES_PER_COMMAND = 100
MAX_MUTE_SECONDS = 7 * 86400
MAX_SLOW_MODE_SECONDS = 3600


def _by(conn: Connection) -> str:
    """Who did it, as the room sees them (events carry public ids, never user ids)."""
    return conn.identity.public_id


def _public(ctx: Context, room: str, user_id: str) -> str:
    return public_user_id(ctx.settings.signing_secret, room, user_id)


@ROOM_COMMANDS.command("ping", capability=None)
async def ping(ctx: Context, conn: Connection, message: dict) -> dict:
    return {"time": int(time.time() * 1000)}


@ROOM_COMMANDS.command("profile.set", capability="watch", fields=("name",))
async def profile_set(ctx: Context, conn: Connection, message: dict) -> dict:
    identity = conn.identity
    if not identity.guest and identity.has_token_name:
        raise LiveroomError("forbidden", "your display name comes from your access token")
    name = check_display_name(required(message, "name"))
    if not identity.can("moderate") and name_key(name) in await _reserved_names(ctx, conn.room):
        raise LiveroomError("invalid_field", "name: is the name of this room's host or staff",
                            field="name")
    conn.rename(name)
    if conn.counted:
        await ctx.engine.presence.join(conn.room, conn.id, conn.member())
    if not identity.guest:
        return {"name": name, "guest_token": None}
    # The name goes into a new guest token, so a reconnect keeps it.
    guest_token = ctx.app[GUESTS].token(conn.identity)
    return {"name": name, "guest_token": guest_token}


async def _reserved_names(ctx: Context, room_id: str) -> set[str]:
    """The room's host name and the names of the staff among the room's members now (the
    first 200 presence gives: in a larger room a staff member beyond them is not seen)."""
    room = await ctx.engine.store.get_room(room_id) or {}
    members = await ctx.engine.presence.members(room_id)
    staff = [m.get("name") for m in members if m.get("role") != "viewer"]
    return reserved_name_keys(room, staff)


@ROOM_COMMANDS.command("chat.send", capability="chat", fields=("text",))
async def chat_send(ctx: Context, conn: Connection, message: dict) -> dict:
    text = check_text(
        required(message, "text"), "text", max_chars=ctx.settings.chat_max_chars
    )
    identity = conn.identity
    if not identity.name:
        raise LiveroomError("name_required", "choose a display name (profile.set) to chat")
    ctx.app[ALLOWANCES].take("chat", conn)  # per person (and per address for guests)
    chat_message = {
        "id": secrets.token_hex(8),
        "user_id": identity.public_id,
        "name": identity.name,
        "role": identity.role,
        "text": text,
        "ts": int(time.time() * 1000),
    }
    privileged = identity.can("moderate")
    # A guest speaks for their address too: its slow mode, bans and mutes hold for every guest
    # identity from there, so a new one is no way around them.
    sender = (_public(ctx, conn.room, conn.guest_address)
              if conn.guest_address is not None else None)
    seq = await ctx.engine.store.post_chat(conn.room, chat_message, privileged=privileged,
                                           sender=sender)
    return {"message_id": chat_message["id"], "seq": seq}


@ROOM_COMMANDS.command("like", capability="like", fields=("count",))
async def like(ctx: Context, conn: Connection, message: dict) -> dict:
    count = check_int(message.get("count", 1), "count", low=1, high=MAX_LIKES_PER_COMMAND)
    ctx.app[ALLOWANCES].take("likes", conn, count)
    # Aggregated: the tickers publish one likes event per room and interval, not one per tap.
    ctx.tally.add_likes(conn.room, count)
    return {}


@ROOM_COMMANDS.command("chat.delete", capability="moderate", fields=("message_id",))
async def chat_delete(ctx: Context, conn: Connection, message: dict) -> dict:
    message_id = required(message, "message_id")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= 64:
        raise LiveroomError("invalid_field", "message_id: must be a message id", field="message_id")
    seq = await ctx.engine.store.delete_chat(conn.room, message_id, _by(conn))
    return {"seq": seq}


def _target(ctx: Context, conn: Connection, message: dict) -> str:
    """The public id a moderation command names (by public id, or by user id)."""
    given = check_user_id(required(message, "user_id"))
    return target_id(ctx.settings.signing_secret, conn.room, given)


async def _moderated_user(ctx: Context, conn: Connection, message: dict, action: str) -> str:
    """The public id of the user a mute or ban is for: not oneself and not one of the room's
    staff (roles that moderate: moderator, host, admin).

    Staff tokens are not subject to mutes and bans (the operator revokes them by not issuing
    them), so refusing here tells the moderator so instead of acknowledging a no-op."""
    user_id = _target(ctx, conn, message)
    if user_id == conn.identity.public_id:
        raise LiveroomError("invalid_field", f"user_id: you cannot {action} yourself",
                            field="user_id")
    staff = next((m for m in await ctx.engine.presence.members(conn.room)
                  if _public(ctx, conn.room, str(m.get("user_id"))) == user_id
                  and "moderate" in auth.CAPABILITIES.get(str(m.get("role")), ())), None)
    if staff is not None:
        raise LiveroomError("forbidden", f"{user_id} is this room's {staff['role']}; staff "
                            f"cannot be {action}d", field="user_id")
    return user_id


@ROOM_COMMANDS.command("user.mute", capability="moderate", fields=("user_id", "seconds"))
async def user_mute(ctx: Context, conn: Connection, message: dict) -> dict:
    user_id = await _moderated_user(ctx, conn, message, "mute")
    seconds = check_int(required(message, "seconds"), "seconds", low=1, high=MAX_MUTE_SECONDS)
    until = int(time.time() * 1000) + seconds * 1000
    seq = await ctx.engine.store.mute(conn.room, user_id, until, _by(conn))
    return {"seq": seq, "until": until}


@ROOM_COMMANDS.command("user.unmute", capability="moderate", fields=("user_id",))
async def user_unmute(ctx: Context, conn: Connection, message: dict) -> dict:
    user_id = _target(ctx, conn, message)
    return {"seq": await ctx.engine.store.unmute(conn.room, user_id, _by(conn))}


@ROOM_COMMANDS.command("user.ban", capability="moderate", fields=("user_id", "remove_messages"))
async def user_ban(ctx: Context, conn: Connection, message: dict) -> dict:
    user_id = await _moderated_user(ctx, conn, message, "ban")
    purge = check_bool(message.get("remove_messages", False), "remove_messages")
    seq = await ctx.engine.store.ban(conn.room, user_id, _by(conn))
    removed = 0
    if purge:  # the ban's spam goes with it: each of their recent messages, for everyone
        snapshot = await ctx.engine.store.snapshot(conn.room)
        for chat in snapshot.chat if snapshot else []:
            if chat["user_id"] == user_id:
                try:
                    seq = await ctx.engine.store.delete_chat(conn.room, chat["id"], _by(conn))
                    removed += 1
                except LiveroomError as gone:
                    if gone.code != "message_not_found":  # another moderator was quicker
                        raise
    return {"seq": seq, "removed": removed}


@ROOM_COMMANDS.command("user.unban", capability="moderate", fields=("user_id",))
async def user_unban(ctx: Context, conn: Connection, message: dict) -> dict:
    user_id = _target(ctx, conn, message)
    return {"seq": await ctx.engine.store.unban(conn.room, user_id, _by(conn))}


@ROOM_COMMANDS.command("room.slow_mode", capability="moderate", fields=("seconds",))
async def room_slow_mode(ctx: Context, conn: Connection, message: dict) -> dict:
    seconds = check_int(
        required(message, "seconds"), "seconds", low=0, high=MAX_SLOW_MODE_SECONDS
    )
    return {"seq": await ctx.engine.store.set_slow_mode(conn.room, seconds, _by(conn))}


@ROOM_COMMANDS.command("product.pin", capability="pin", fields=("product_id",))
async def product_pin(ctx: Context, conn: Connection, message: dict) -> dict:
    product_id = check_slug(required(message, "product_id"), "product_id")
    return {"seq": await ctx.engine.store.pin(conn.room, product_id, _by(conn))}


@ROOM_COMMANDS.command("product.unpin", capability="pin")
async def product_unpin(ctx: Context, conn: Connection, message: dict) -> dict:
    return {"seq": await ctx.engine.store.pin(conn.room, None, _by(conn))}


@ROOM_COMMANDS.command("presence.list", capability="moderate")
async def presence_list(ctx: Context, conn: Connection, message: dict) -> dict:
    members = await ctx.engine.presence.members(conn.room)
    return {"members": [{**m, "user_id": _public(ctx, conn.room, str(m["user_id"])),
                         **({"via": _public(ctx, conn.room, str(m["via"]))} if "via" in m
                            else {})}
                        for m in members]}
