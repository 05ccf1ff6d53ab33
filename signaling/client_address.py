"""The address a media request comes from, for the per-address caps (capacity.py).

It follows the server's one rule for client addresses (liveroom/addresses.py): the TCP peer,
or, from the operator's proxies (LIVEROOM_TRUSTED_PROXIES), the address they forward. On the
room channel the connection learnt its address when it was opened.
"""

from __future__ import annotations

from aiohttp import web

from liveroom.addresses import CLIENT_ADDRESSES


def of_request(request: web.Request) -> str | None:
    return request.app[CLIENT_ADDRESSES].of_request(request)
