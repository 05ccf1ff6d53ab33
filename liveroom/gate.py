"""The room gate: the one answer to "may this caller do this in this room?".

Every surface enters a room through it: the room channel, the REST API, the pages, WHIP and WHEP.
It checks, in this order, and refuses with the first rule broken:

1. the room exists                                   room_not_found
2. the caller is someone: a valid token (not longer
   lived than allowed, not revoked); or, for
   watching a public room, a guest made here          invalid_token / token_expired /
                                                      token_revoked / unauthorized (no token
                                                      where one is needed)
3. the token is for this room (or "*", an operator)   wrong_room
4. the token's role grants the act                    forbidden
5. the caller is not banned from the room (staff
   cannot be: bans are for the audience); a guest,
   nor the guest of their address either              banned

Acts are the capabilities of domain/auth.py ("watch", "chat", "publish", "sales", ...). Each
surface turns a refusal into its own wire form: an error frame and a close code on the
channel, a JSON error with its HTTP status on REST, WHIP and WHEP, an HTML page on the pages.
Mutes are not checked here: a muted viewer may still watch, and the engine refuses their chat
in the same atomic step that would post it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from .domain import auth
from .domain.errors import LiveroomError
from .domain.public_ids import public_user_id
from .domain.token_policy import RevocationList, check_lifetime
from .domain.validation import SLUG
from .engine import Store

# What a caller without a token is told it needs, per act.
NEEDS_TOKEN = {
    "publish": "publishing needs the host's access token",
    "buy": "sign in to buy: guests can watch and chat only",
}


@dataclass(frozen=True)
class Admission:
    """Who entered which room."""

    room: dict[str, Any]
    identity: auth.Identity
    # The token the caller presented, or None for a guest made by the gate.
    token: str | None

    @property
    def room_id(self) -> str:
        return self.room["id"]


class RoomGate:
    def __init__(self, store: Store, secret: str, *,
                 max_token_lifetime: float = float("inf")) -> None:
        self._store = store
        self._secret = secret
        self._max_token_lifetime = max_token_lifetime
        # The engine's revocation list as this instance last read it (kept fresh by the room
        # channel's token watch, every heartbeat, and at once by a revocation made here).
        self.revocations = RevocationList()
        # Set when a revocation is made here, so the watch applies it to open connections now.
        self.revocations_changed = asyncio.Event()

    def revocations_read(self, listed: RevocationList, *, changed: bool = False) -> None:
        """The engine's list, as just read (by the watch, or after a revocation here)."""
        self.revocations = listed
        if changed:
            self.revocations_changed.set()

    def identify(self, token: str | None) -> auth.Identity | None:
        """The identity a token carries (checked), or None for no token."""
        if token is None:
            return None
        identity = auth.verify(self._secret, token)
        check_lifetime(identity, self._max_token_lifetime, time.time())
        self.revocations.check(identity)
        return identity

    async def room(self, room_id: str) -> dict[str, Any]:
        """Rule 1: the room's record."""
        room = await self._store.get_room(room_id) if SLUG.match(room_id) else None
        if room is None:
            raise LiveroomError("room_not_found", f"no room {room_id!r}")
        return room

    async def enter(self, room_id: str, token: str | None, act: str, *,
                    guest_address: str | None = None) -> Admission:
        """Rules 1 to 5 for doing `act` in the room; a tokenless caller who may watch becomes
        a guest (a fresh anonymous viewer). `guest_address` is the guest of the caller's
        address (guests.py): banning it keeps out every guest identity from there."""
        room = await self.room(room_id)
        identity = self.identify(token)
        if identity is None:
            identity = self._guest(room, act)
        else:
            self.check(identity, room["id"], act)
            if identity.guest and not room.get("public", True):
                # A guest token is the server's note of a tokenless viewer: never a way in.
                raise LiveroomError("unauthorized", "this room needs an access token")
        # Mutes and bans are kept by public id: the id moderators see and act on.
        identity = replace(identity, public_id=public_user_id(self._secret, room["id"],
                                                              identity.user_id))
        if token is not None and not identity.can("moderate") and await self._banned(
                room["id"], identity):
            raise LiveroomError("banned", "you are banned from this room")
        if identity.guest and guest_address and await self._store.is_banned(
                room["id"], public_user_id(self._secret, room["id"], guest_address)):
            raise LiveroomError("banned", "guests from your address are banned from this room")
        return Admission(room, identity, token)

    async def _banned(self, room_id: str, identity: auth.Identity) -> bool:
        # Bans made before rooms showed public ids were kept by user id: they still hold.
        return (await self._store.is_banned(room_id, identity.public_id)
                or await self._store.is_banned(room_id, identity.user_id))

    def check(self, identity: auth.Identity, room_id: str, act: str) -> None:
        """Rules 3 and 4 for someone already identified (a command on an open channel)."""
        if not identity.covers(room_id):
            raise LiveroomError("wrong_room", f"this token is for room {identity.room!r}")
        self.allow(identity, act)

    @staticmethod
    def allow(identity: auth.Identity, act: str) -> None:
        """Rule 4 alone: the role grants the act."""
        if not identity.can(act):
            raise LiveroomError(
                "forbidden", f"a {identity.role} does not have the {act!r} grant")

    def operator(self, token: str | None) -> auth.Identity:
        """The operator (an admin token for every room, "*"): rooms, webhooks, the instance."""
        identity = self.identify(token)
        if identity is None:
            raise LiveroomError("unauthorized",
                                "this needs an access token (Authorization: Bearer)")
        if identity.room != auth.ANY_ROOM or not identity.can("rooms"):
            raise LiveroomError("forbidden", "this needs an operator token (admin, room '*')")
        return identity

    def visible(self, room: dict[str, Any], identity: auth.Identity | None) -> bool:
        """Whether a room shows in this caller's lists: public, or their token covers it."""
        return room.get("public", True) or (identity is not None and identity.covers(room["id"]))

    def _guest(self, room: dict[str, Any], act: str) -> auth.Identity:
        if act != "watch":
            raise LiveroomError("unauthorized", NEEDS_TOKEN.get(
                act, "this needs an access token") + " (Authorization: Bearer, or ?token=)")
        if not room.get("public", True):
            raise LiveroomError("unauthorized", "this room needs an access token")
        return auth.guest_identity(room["id"])


GATE = web.AppKey("room_gate", RoomGate)
