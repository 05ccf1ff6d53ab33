"""STUN and TURN servers: what browsers and WHIP/WHEP clients are told, and what the server's own
peer connections use.

TURN credentials are minted per user in the shared-secret scheme coturn implements
(`use-auth-secret` / `static-auth-secret`, the "TURN REST API"): the username is
`<expiry unix time>:<user id>` and the password is base64(HMAC-SHA1(secret, username)), so the
TURN server checks them without a database and they stop working at the expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer

from .config import MediaSettings


def turn_credentials(secret: str, user_id: str, ttl: float, now: float | None = None
                     ) -> tuple[str, str]:
    expiry = int((time.time() if now is None else now) + ttl)
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: MediaSettings, user_id: str) -> list[dict[str, Any]]:
    """RTCIceServer dictionaries for a browser (RTCPeerConnection's iceServers)."""
    stun = [u for u in settings.ice_servers if u.startswith(("stun:", "stuns:"))]
    turn = [u for u in settings.ice_servers if u.startswith(("turn:", "turns:"))]
    servers: list[dict[str, Any]] = []
    if stun:
        servers.append({"urls": stun})
    if turn and settings.turn_secret:
        username, credential = turn_credentials(settings.turn_secret, user_id, settings.turn_ttl)
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


def link_headers(servers: list[dict[str, Any]]) -> list[str]:
    """The same servers as `Link` header values (RFC 9725 section 4.6)."""
    links = []
    for server in servers:
        for url in server["urls"]:
            link = f'<{url}>; rel="ice-server"'
            if "username" in server:
                link += (f'; username="{server["username"]}"; '
                         f'credential="{server["credential"]}"; credential-type="password"')
            links.append(link)
    return links


def server_configuration(settings: MediaSettings) -> RTCConfiguration:
    """The server's own peer connections gather host candidates, and server-reflexive ones
    through the configured STUN servers (a server behind NAT); they do not relay through TURN."""
    stun = [u for u in settings.ice_servers if u.startswith("stun:")]
    return RTCConfiguration(iceServers=[RTCIceServer(urls=stun)] if stun else [])
