"""Who is calling the REST API, and may they do this? The room gate answers (gate.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..domain import auth
from ..domain.errors import LiveroomError
from ..gate import GATE, Admission


def bearer_token(request: web.Request) -> str | None:
    return auth.bearer(request.headers.get("Authorization"))


def caller(request: web.Request) -> auth.Identity | None:
    """The caller's identity, or None without a token."""
    return request.app[GATE].identify(bearer_token(request))


async def enter(request: web.Request, act: str) -> Admission:
    """Through the gate into the request's room (`{room}` in the path), to do `act`."""
    return await request.app[GATE].enter(request.match_info["room"], bearer_token(request), act)


async def operator_room(request: web.Request) -> str:
    """The operator, acting on the request's room, which must exist."""
    operator(request)
    room = await request.app[GATE].room(request.match_info["room"])
    return room["id"]


def operator(request: web.Request) -> auth.Identity:
    return request.app[GATE].operator(bearer_token(request))


async def json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise LiveroomError("invalid_json", f"the request body is not valid JSON: {exc}") from None
