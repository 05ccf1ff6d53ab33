"""`PUT /api/guest`: a browser keeps the guest identity it was just handed.

The room channel hands a guest a new guest token when they choose a name (`profile.set`); a
WebSocket cannot set a cookie once open, so the page sends the token here and the answer sets
the `liveroom_guest` cookie (HttpOnly) to it (guests.py): a reconnect without any token keeps
the name. Only a valid guest token is kept: a staff token never goes into the guest cookie.

    PUT /api/guest  {"guest_token": "..."}  ->  {"user_id": ..., "name": ...}
"""

from __future__ import annotations

from aiohttp import web

from ..domain.validation import invalid, only_fields
from ..guests import GUESTS
from .access import json_body


async def keep_guest(request: web.Request) -> web.Response:
    body = only_fields(await json_body(request), {"guest_token"}, "guest")
    token = body.get("guest_token")
    guests = request.app[GUESTS]
    identity = guests.identify(token if isinstance(token, str) else None)
    if identity is None or not isinstance(token, str):
        raise invalid("guest_token", "must be a guest token this server handed out")
    response = web.json_response({"user_id": identity.user_id, "name": identity.name})
    guests.keep(request, response, token)
    return response
