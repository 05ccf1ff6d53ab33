"""Who may open a relay leg: another instance of the deployment, which proves it by signing a
short-lived token with the secret every instance shares (LIVEROOM_SECRET).

The token's key is derived from the secret for this one purpose, so a leg token is never an
access token nor the other way round. It names the room (a token for one room opens no other)
and the instance asking, and lapses after TTL seconds: it is checked when the leg opens, so a
token seen in a log is of no use for long.

    Authorization: Liveroom-Leg <instance>.<expires, Unix seconds>.<hex HMAC-SHA256>
"""

from __future__ import annotations

import hashlib
import hmac
import time

from liveroom.domain.errors import LiveroomError

SCHEME = "Liveroom-Leg"
TTL = 30
_PURPOSE = b"liveroom relay leg v1"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _signature(secret: str, room: str, instance: str, expires: int) -> str:
    body = f"{room}\n{instance}\n{expires}".encode()
    return hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def header(secret: str, room: str, instance: str, now: float | None = None) -> str:
    """The Authorization header an instance opens a leg of `room` with."""
    expires = int((time.time() if now is None else now) + TTL)
    return f"{SCHEME} {instance}.{expires}.{_signature(secret, room, instance, expires)}"


def check(secret: str, room: str, value: str | None, now: float | None = None) -> str:
    """The instance a leg's Authorization header names; unauthorized without one, forbidden
    when it is not signed with our secret for this room, or has lapsed."""
    scheme, _, token = (value or "").partition(" ")
    if scheme != SCHEME or not token:
        raise LiveroomError("unauthorized", f"a relay leg needs an Authorization: {SCHEME} "
                            "header signed with the instances' shared secret")
    refused = LiveroomError("forbidden", "this relay leg token is not valid for this room")
    instance, _, rest = token.strip().partition(".")
    expires, _, signature = rest.partition(".")
    try:
        expiry = int(expires)
    except ValueError:
        raise refused from None
    if expiry < (time.time() if now is None else now) or not hmac.compare_digest(
            signature, _signature(secret, room, instance, expiry)):
        raise refused
    return instance
