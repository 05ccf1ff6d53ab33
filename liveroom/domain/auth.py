"""Access tokens: JWTs (HS256) whose claims are the grants, signed with the server secret.

A shop backend that knows the secret can mint tokens itself; the claims are:
    sub   user id            name  display name        role  viewer | moderator | host |
    room  room id, or "*"    exp   expiry (unix time)        cohost | admin
    iss   "liveroom"
An admin token with room "*" is the operator token for the admin API.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import jwt

from .errors import LiveroomError
from .names import check_display_name
from .validation import SLUG, check_user_id

ISSUER = "liveroom"
ALGORITHM = "HS256"
ANY_ROOM = "*"

# What each role may do. Host and moderator both run the room and its sales; only a host
# publishes media, and only the host (the exporter) and operators see and settle orders. A
# co-host (a guest presenter) may publish a second video beside the host's, and chat.
CAPABILITIES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"watch", "chat", "like", "buy"}),
    "moderator": frozenset(
        {"watch", "chat", "like", "moderate", "pin", "products", "sales", "orders"}
    ),
    "host": frozenset(
        {"watch", "chat", "like", "moderate", "pin", "products", "sales", "orders", "settle",
         "publish"}
    ),
    "cohost": frozenset({"watch", "chat", "like", "publish"}),
    "admin": frozenset(
        {"watch", "chat", "like", "moderate", "pin", "products", "sales", "orders", "settle",
         "publish", "rooms"}
    ),
}
ROLES = tuple(CAPABILITIES)


@dataclass(frozen=True)
class Identity:
    """Who is speaking, as the server trusts it."""

    user_id: str
    name: str | None
    role: str
    room: str  # a room id, or ANY_ROOM
    guest: bool = False
    # Whether the name came signed in the token (it then cannot be changed on the channel).
    has_token_name: bool = False
    # What the room shows of this user (public_ids.py): set by the room gate, for its room.
    public_id: str = ""
    # The token's own facts, for cutting it off (token_policy.py): when it stops, when it was
    # made, its id (`jti`). None for a guest made without a token.
    expires_at: int | None = field(default=None, compare=False)
    issued_at: int | None = field(default=None, compare=False)
    token_id: str | None = field(default=None, compare=False)

    def can(self, capability: str) -> bool:
        return capability in CAPABILITIES[self.role]

    def covers(self, room: str) -> bool:
        return self.room == ANY_ROOM or self.room == room

    def public(self) -> dict:
        """As the room shows this user: by their public id, never their user id."""
        return {"user_id": self.public_id, "name": self.name, "role": self.role,
                "guest": self.guest}


def mint(
    secret: str,
    *,
    room: str,
    role: str,
    user_id: str,
    name: str | None = None,
    ttl: float = 86400,
    guest: bool = False,
) -> str:
    if role not in CAPABILITIES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    check_user_id(user_id)
    if name is not None:
        name = check_display_name(name)
    if room == ANY_ROOM and role != "admin":
        raise ValueError('only an admin token may cover every room ("*")')
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": user_id,
        "room": room,
        "role": role,
        "iat": now,
        "exp": now + int(ttl),
        # An id of its own, so that this one token can be revoked (token_policy.py).
        "jti": secrets.token_urlsafe(12),
    }
    if name is not None:
        claims["name"] = name
    if guest:
        claims["guest"] = True
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str) -> Identity:
    """Check signature, expiry and claims; raise LiveroomError with a precise code."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "room", "role", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise LiveroomError("token_expired", "the access token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise LiveroomError("invalid_token", f"the access token is not valid: {exc}") from None
    role, room, user_id, name = check_claims(claims.get("role"), claims.get("room"),
                                             claims.get("sub"), claims.get("name"))
    iat, jti = claims.get("iat"), claims.get("jti")
    return Identity(
        user_id=user_id, name=name, role=role, room=room, guest=bool(claims.get("guest")),
        has_token_name=name is not None, expires_at=int(claims["exp"]),
        issued_at=int(iat) if isinstance(iat, (int, float)) else None,
        token_id=jti if isinstance(jti, str) else None,
    )


def check_claims(role: object, room: object, user_id: object, name: object
                 ) -> tuple[str, str, str, str | None]:
    """The grants of a verified token as docs/protocol.md states them, or invalid_token: a
    shop backend mints tokens too, so nothing in them is taken on trust but the signature."""
    if not isinstance(role, str) or role not in CAPABILITIES:
        raise LiveroomError("invalid_token",
                            f"the access token's role must be one of {', '.join(ROLES)}")
    if not isinstance(room, str) or not (room == ANY_ROOM or SLUG.match(room)):
        raise LiveroomError("invalid_token", 'the access token\'s room must be a room id or "*"')
    if room == ANY_ROOM and role != "admin":
        raise LiveroomError("invalid_token",
                            'only an admin token may cover every room ("*")')
    try:
        check_user_id(user_id, "sub")
        if name is not None:
            name = check_display_name(name)
    except LiveroomError as error:
        raise LiveroomError("invalid_token",
                            f"the access token's claim {error.message}") from None
    assert isinstance(user_id, str)
    return role, room, user_id, name


def guest_identity(room: str) -> Identity:
    """A fresh anonymous viewer."""
    return Identity(user_id="guest-" + secrets.token_hex(5), name=None, role="viewer", room=room,
                    guest=True)


def guest_token(secret: str, identity: Identity, ttl: float = 86400) -> str:
    """A token that lets a guest keep its identity (and chosen name) on reconnect."""
    return mint(secret, room=identity.room, role="viewer", user_id=identity.user_id,
                name=identity.name, ttl=ttl, guest=True)


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LiveroomError("unauthorized", "Authorization must be 'Bearer <token>'")
    return token.strip()
