"""The address a media request comes from, for the per-address caps (capacity.py).

One place, so that it follows the server's rule for client addresses: today the TCP peer
(`request.remote`, the socket's peer name on the room channel). Behind a load balancer that
is the balancer's address, so the per-address caps then apply to everybody behind it at once:
raise LIVEROOM_GUEST_PEERS_PER_ADDRESS there until forwarded addresses are trusted.
"""

from __future__ import annotations

from aiohttp import web


def of_request(request: web.BaseRequest) -> str | None:
    return request.remote


def of_socket(ws: web.WebSocketResponse) -> str | None:
    peer = ws.get_extra_info("peername")
    return str(peer[0]) if peer else None
