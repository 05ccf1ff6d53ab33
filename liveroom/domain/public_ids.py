"""Public user ids: what a room shows of a user instead of their user id.

A user id is whatever the shop backend names its users by, often an e-mail address; a room
shows everything a user says and does to everyone in it. So the room channel never shows a user
id: it shows an opaque id, the same for one user in one room every time (a moderator's mute
button and a page's "is this me?" keep working across reconnects), different from room to room
(no one can follow a user across rooms), derived from the server secret (no one can compute it
from a guessed user id). A shop backend that holds the secret computes it with
`public_user_id`, to find its user's messages.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PREFIX = "u-"
_HEX_CHARS = 20  # 80 bits: no two users of a room meet
PUBLIC_ID = re.compile(rf"^{PREFIX}[0-9a-f]{{{_HEX_CHARS}}}$")


def public_user_id(secret: str, room: str, user_id: str) -> str:
    # Keyed apart from the token signatures, though with the same secret.
    key = hmac.new(secret.encode(), b"liveroom public user id", hashlib.sha256).digest()
    digest = hmac.new(key, f"{room}\x00{user_id}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:_HEX_CHARS]


def is_public_id(value: str) -> bool:
    return bool(PUBLIC_ID.match(value))


def target_id(secret: str, room: str, given: str) -> str:
    """The public id a moderator's command names: as shown in the room, or, for tools that
    know the user id (a shop backend), the user id itself."""
    return given if is_public_id(given) else public_user_id(secret, room, given)
