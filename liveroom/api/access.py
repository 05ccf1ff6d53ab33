"""Who is calling the REST API, and may they do this?"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..config import SETTINGS
from ..domain import auth
from ..domain.errors import LiveroomError


def caller(request: web.Request) -> auth.Identity | None:
    token = auth.bearer(request.headers.get("Authorization"))
    if token is None:
        return None
    return auth.verify(request.app[SETTINGS].secret, token)


def require(request: web.Request, capability: str, room: str | None = None) -> auth.Identity:
    identity = caller(request)
    if identity is None:
        raise LiveroomError("unauthorized", "this needs an access token (Authorization: Bearer)")
    if room is not None and not identity.covers(room):
        raise LiveroomError("wrong_room", f"this token is for room {identity.room!r}")
    if room is None and identity.room != auth.ANY_ROOM:
        raise LiveroomError("forbidden", "this needs an operator token (admin, room '*')")
    if not identity.can(capability):
        raise LiveroomError(
            "forbidden", f"a {identity.role} token does not grant {capability!r}"
        )
    return identity


async def json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise LiveroomError("invalid_json", f"the request body is not valid JSON: {exc}") from None
