"""The REST API's middlewares: every HTTP error is JSON ({"error": {"code": ..., "message": ...}},
whatever raised it); every request has an id, a deadline and a place in /metrics."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time

from aiohttp import web, web_response

from .. import logs
from ..config import SETTINGS
from ..domain.errors import EngineUnavailable, LiveroomError
from ..metrics import METRICS

log = logging.getLogger(__name__)
access = logging.getLogger("liveroom.access")

# aiohttp's own refusals (unknown route, wrong method, body too large) in our vocabulary.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def error_response(error: LiveroomError) -> web.Response:
    response = web.json_response({"error": error.as_dict()}, status=error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = bearer_challenge(error.code)
    return response


def bearer_challenge(code: str) -> str:
    """The challenge a 401 carries (RFC 6750): a token is wanted, and, if one was sent, it
    was refused."""
    if code in ("invalid_token", "token_expired"):
        return 'Bearer realm="liveroom", error="invalid_token"'
    return 'Bearer realm="liveroom"'


@web.middleware
async def json_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except LiveroomError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.status not in _HTTP_CODES:
            raise
        code = _HTTP_CODES[exc.status]
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        response = web.json_response(
            {"error": {"code": code, "message": message}}, status=exc.status
        )
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = bearer_challenge(code)
        return response
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return web.json_response(
            {"error": {"code": "internal", "message": "internal server error"}}, status=500
        )


# --- request ids, timing, deadlines ------------------------------------------------------------
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HEALTH_PATHS = ("/healthz", "/readyz", "/metrics")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _upgrade(request: web.Request) -> bool:
    """A connection that lasts as long as its reader stays: a WebSocket, or an event stream."""
    return (request.headers.get("Upgrade", "").lower() == "websocket"
            or request.headers.get("Accept", "").startswith("text/event-stream"))


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler):
    """Give the request an id (the load balancer's X-Request-Id, or a new one) that every log
    line written for it carries and the response repeats; time it for /metrics."""
    given = request.headers.get("X-Request-Id", "")
    rid = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
    logs.request_id.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        access.log(logging.DEBUG, "%s %s %d", request.method, request.path, status,
                   extra={"status": status, "duration_ms": round(elapsed * 1000, 1)})
        if not _upgrade(request):  # a room channel lasts as long as the viewer watches
            metrics = request.app[METRICS]
            route = _route(request)
            method = request.method if request.method in METHODS else "other"
            metrics.http_requests.labels(method, route, str(status)).inc()
            metrics.http_duration.labels(method, route).observe(elapsed)


SERVER_NAME = "liveroom"


def hide_server_version() -> None:
    """Every HTTP response names the server as plain "liveroom": no version of ours, of aiohttp
    or of Python for a scanner to match against known flaws.

    aiohttp writes its default `Server` into every response it prepares, including the 400s it
    answers malformed requests with before any application hook runs, so the default is where
    this must change (once per process; it touches nothing else)."""
    setattr(web_response, "SERVER_SOFTWARE", SERVER_NAME)


async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, the WebSocket handshake too, names its request."""
    rid = logs.request_id.get()
    if rid is not None:
        response.headers["X-Request-Id"] = rid


@web.middleware
async def deadline(request: web.Request, handler):
    """A request the engine has not answered within LIVEROOM_REQUEST_TIMEOUT is refused with
    503 unavailable instead of hanging (a slow Redis, not a down one)."""
    if _upgrade(request) or request.path in HEALTH_PATHS:  # readiness has its own bound
        return await handler(request)
    timeout = request.app[SETTINGS].request_timeout
    try:
        async with asyncio.timeout(timeout):
            return await handler(request)
    except TimeoutError:
        raise EngineUnavailable(
            f"the room service did not answer within {timeout:g} s; retry") from None
