"""Every HTTP error is JSON: {"error": {"code": ..., "message": ...}}, whatever raised it."""

from __future__ import annotations

import logging

from aiohttp import web

from ..errors import LiveroomError

log = logging.getLogger(__name__)

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
    return web.json_response({"error": error.as_dict()}, status=error.status)


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
        return response
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return web.json_response(
            {"error": {"code": "internal", "message": "internal server error"}}, status=500
        )
