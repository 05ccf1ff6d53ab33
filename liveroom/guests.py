"""Guests' identities: signed by the server, kept by the browser, the same on every reconnect.

A guest (a viewer without an access token) used to be a fresh random user at every connection,
so a banned or muted guest came back clean by reconnecting, and slow mode and per-user limits
did not reach them. Now a guest is always someone the server signed:

- a browser keeps its guest identity in the `liveroom_guest` cookie: a guest token (a JWT
  with `"guest": true`, signed with the server secret), HttpOnly, SameSite=Lax, for the whole
  site, set by the room page and by the room channel's handshake. The channel's welcome and
  `profile.set` also hand the token out (`guest_token`), and a client that presents it again
  keeps its identity and chosen name; the cookie then follows the token last presented;
- a client that presents neither (a script, a browser refusing cookies) is the guest of its
  client address (addresses.py): one identity per IPv4 address or IPv6 /64, derived with the
  server secret. So reconnecting without anything is no way out of a ban, a mute or slow mode,
  and a hundred such sockets are one viewer.

A guest token names a room; presented in another public room it is re-signed for that room,
with the same user and name. Guest tokens never open a private room (gate.py).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from aiohttp import web

from .domain import auth
from .domain.errors import LiveroomError

GUEST_COOKIE = "liveroom_guest"
GUEST_TTL = 7 * 86400.0  # a guest identity (and what sticks to it) lasts a week of absence


class Guests:
    def __init__(self, secret: str, *, ttl: float = GUEST_TTL, secure: bool = False) -> None:
        self._secret = secret
        self.ttl = ttl
        self._secure = secure

    def token(self, identity: auth.Identity) -> str:
        return auth.guest_token(self._secret, identity, ttl=self.ttl)

    def identify(self, token: str | None) -> auth.Identity | None:
        """The guest a token names, or None when it is not a good guest token (expired,
        forged, a staff token)."""
        if not token:
            return None
        try:
            identity = auth.verify(self._secret, token)
        except LiveroomError:
            return None
        return identity if identity.guest and identity.role == "viewer" else None

    def for_room(self, token: str | None, room: str) -> str | None:
        """A valid guest token for `room` with the identity `token` carries, or None when it
        is not a good guest token."""
        identity = self.identify(token)
        if identity is None:
            return None
        if identity.room == room:
            return token
        return self.token(auth.Identity(user_id=identity.user_id, name=identity.name,
                                        role="viewer", room=room, guest=True))

    def of_address(self, room: str, address: str | None) -> str:
        """The guest token of a client that brings no identity: its address's guest."""
        return self.token(auth.Identity(user_id=self.address_user(address), name=None,
                                        role="viewer", room=room, guest=True))

    def address_user(self, address: str | None) -> str:
        key = _network(address)
        digest = hmac.new(self._secret.encode(), b"guest-address|" + key.encode(),
                          hashlib.sha256).hexdigest()
        return "guest-a" + digest[:12]

    def keep(self, request: web.BaseRequest, response: web.StreamResponse, token: str) -> None:
        """The browser keeps the guest's identity (before the response is prepared)."""
        if request.cookies.get(GUEST_COOKIE) == token:
            return
        response.set_cookie(GUEST_COOKIE, token, path="/", max_age=int(self.ttl), httponly=True,
                            samesite="Lax", secure=self._secure or request.secure)


def _network(address: str | None) -> str:
    """An IPv6 client holds a whole /64; an IPv4 one its address."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


GUESTS = web.AppKey("guests", Guests)
