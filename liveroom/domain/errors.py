"""Error codes shared by the REST API and the room channel.

One exception type carries a stable machine-readable code, a human message and, for HTTP, a
status. The codes are the protocol: docs/protocol.md lists every one of them.
"""

from __future__ import annotations

from typing import Any

# code -> HTTP status. The channel uses the same codes in its error frames.
STATUS = {
    "bad_request": 400,
    "invalid_json": 400,
    "invalid_field": 400,
    "unknown_command": 400,
    "invalid_sdp": 400,
    "no_media": 400,
    "too_many_candidates": 400,
    "unauthorized": 401,
    "invalid_token": 401,
    "token_expired": 401,
    "token_revoked": 401,
    "forbidden": 403,
    "wrong_room": 403,
    "banned": 403,
    "muted": 403,
    "name_required": 403,
    "not_found": 404,
    "room_not_found": 404,
    "product_not_found": 404,
    "message_not_found": 404,
    "sale_not_found": 404,
    "order_not_found": 404,
    "session_not_found": 404,
    "replay_not_found": 404,
    "hls_unavailable": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,
    "conflict": 409,
    "sale_not_started": 409,
    "sale_ended": 409,
    "sale_cancelled": 409,
    "sold_out": 409,
    "not_enough_stock": 409,
    "over_limit": 409,
    "idempotency_conflict": 409,
    "price_changed": 409,
    "publisher_exists": 409,
    "not_live": 409,
    "not_purgeable": 409,
    "precondition_failed": 412,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "unsupported_codec": 422,
    "ice_restart_unsupported": 422,
    "rate_limited": 429,
    "slow_mode": 429,
    "too_many_sessions": 429,
    "internal": 500,
    "unavailable": 503,
    "not_replicated": 503,
    "draining": 503,
    "too_many_connections": 503,
    "media_busy": 503,
}


class LiveroomError(Exception):
    """A refusal with a code from STATUS; extra fields travel with the error (retry_after...)."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        if code not in STATUS:
            raise ValueError(f"unregistered error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class EngineUnavailable(LiveroomError):
    """The shared engine (Redis) cannot be reached right now; the caller may retry."""

    def __init__(self, message: str = "the room service is temporarily unavailable") -> None:
        super().__init__("unavailable", message)
