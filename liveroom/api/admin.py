"""Operator endpoints of one instance (operator token): its log level, changed while it runs."""

from __future__ import annotations

import logging

from aiohttp import web

from .. import logs
from ..config import SETTINGS
from ..domain.validation import invalid, only_fields
from .access import json_body, operator

log = logging.getLogger(__name__)


def _answer(request: web.Request, **extra) -> web.Response:
    return web.json_response({"level": logs.get_level(),
                              "instance": request.app[SETTINGS].instance_id, **extra})


async def get_log_level(request: web.Request) -> web.Response:
    operator(request)
    return _answer(request)


async def put_log_level(request: web.Request) -> web.Response:
    """{"level": "DEBUG"}: from now on, until changed again or the process restarts."""
    identity = operator(request)
    body = only_fields(await json_body(request), {"level"}, "log level")
    level = body.get("level")
    if not isinstance(level, str) or level.upper() not in logs.LEVELS:
        raise invalid("level", f"must be one of {', '.join(logs.LEVELS)}")
    previous = logs.set_level(level)
    log.warning("log level changed from %s to %s by %s", previous, level.upper(),
                identity.user_id)
    return _answer(request, previous=previous)
