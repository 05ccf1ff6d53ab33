"""Live video over the room channel: the studio publishes and the viewer page plays with these
commands (offer/answer, trickle ICE), which setup.py adds to the app's command set."""

from __future__ import annotations

from typing import Any

from liveroom.channel.commands import CommandTable, Context, required
from liveroom.channel.connection import Connection
from liveroom.domain.errors import LiveroomError

from .config import MEDIA_SETTINGS
from .http import owner_of
from .ice import ice_servers
from .keys import SERVICE

MEDIA_COMMANDS = CommandTable()


def _session_id(message: dict[str, Any]) -> str:
    session = required(message, "session")
    if not isinstance(session, str) or not 0 < len(session) <= 100:
        raise LiveroomError("invalid_field", "session: must be a session id", field="session")
    return session


def _candidate(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None  # end of candidates
    if not isinstance(value, dict) or not isinstance(value.get("candidate"), str) or len(
            value["candidate"]) > 1000:
        raise LiveroomError("invalid_field", "candidate: must be an RTCIceCandidate's "
                            "{candidate, sdpMid, sdpMLineIndex}, or null", field="candidate")
    mid, index = value.get("sdpMid"), value.get("sdpMLineIndex")
    if mid is not None and not isinstance(mid, str) or index is not None and (
            not isinstance(index, int) or isinstance(index, bool)):
        raise LiveroomError("invalid_field", "candidate: sdpMid is a string, sdpMLineIndex an "
                            "integer", field="candidate")
    return {"candidate": value["candidate"], "sdpMid": mid, "sdpMLineIndex": index}


@MEDIA_COMMANDS.command("media.config", capability="watch")
async def media_config(ctx: Context, conn: Connection, message: dict) -> dict:
    return {"ice_servers": ice_servers(ctx.app[MEDIA_SETTINGS], conn.identity.user_id)}


@MEDIA_COMMANDS.command("media.publish", capability="publish", fields=("offer",))
async def media_publish(ctx: Context, conn: Connection, message: dict) -> dict:
    result = await ctx.app[SERVICE].publish(conn.room, owner_of(conn.identity),
                                            required(message, "offer"), "channel")
    return {"session": result["session"], "answer": result["answer"]}


@MEDIA_COMMANDS.command("media.subscribe", capability="watch", fields=("offer", "slot"))
async def media_subscribe(ctx: Context, conn: Connection, message: dict) -> dict:
    slot = message.get("slot", "host")
    if slot not in ("host", "cohost"):
        raise LiveroomError("invalid_field", "slot: must be host or cohost", field="slot")
    owner = owner_of(conn.identity, conn.address)
    result = await ctx.app[SERVICE].play(conn.room, slot, owner, required(message, "offer"),
                                         "channel")
    return {"session": result["session"], "answer": result["answer"]}


@MEDIA_COMMANDS.command("media.candidate", capability="watch", fields=("session", "candidate"))
async def media_candidate(ctx: Context, conn: Connection, message: dict) -> dict:
    if "candidate" not in message:
        raise LiveroomError("invalid_field", "candidate: is required (null ends them)",
                            field="candidate")
    await ctx.app[SERVICE].trickle(_session_id(message), owner_of(conn.identity),
                                   [_candidate(message["candidate"])], room=conn.room)
    return {}


@MEDIA_COMMANDS.command("media.stop", capability="watch", fields=("session",))
async def media_stop(ctx: Context, conn: Connection, message: dict) -> dict:
    await ctx.app[SERVICE].stop(_session_id(message), owner_of(conn.identity), room=conn.room)
    return {}
