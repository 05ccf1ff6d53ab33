"""The revocation list (operator token): cut staff tokens off before they expire, on every
instance, without rotating the secret (domain/token_policy.py).

    POST /api/admin/revocations  {"token": "<the token>"}          that one token (by its jti)
                                 {"token_id": "<jti>", "expires_at": <unix s>}
                                 {"user_id": "<sub>", "not_before": <unix s>}
                                                                    every token of the user
                                                                    issued before then (by
                                                                    default: up to now)
    GET  /api/admin/revocations  what is revoked now

Open connections of a revoked token are closed (4401 `token_revoked`) within a heartbeat on
every instance, at once on this one; new ones, REST calls and pages are refused from then on.
"""

from __future__ import annotations

import time

import jwt
from aiohttp import web

from ..config import SETTINGS
from ..domain.errors import LiveroomError
from ..domain.validation import check_user_id, invalid, only_fields
from ..engine import ENGINE
from ..gate import GATE
from .access import json_body, operator


def _unix_seconds(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise invalid(field, "must be a time in unix seconds")
    return int(value)


def _token_facts(token: object) -> tuple[str, int | None]:
    """The jti and exp of a token signed by this deployment (expired or not)."""
    if not isinstance(token, str) or not token:
        raise invalid("token", "must be an access token")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise invalid("token", f"is not a token: {exc}") from None
    jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str) or not jti:
        raise invalid("token", "has no id (jti) to revoke it by: revoke its user instead "
                      "(user_id)")
    return jti, exp if isinstance(exp, int) else None


async def revoke(request: web.Request) -> web.Response:
    operator(request)
    app = request.app
    settings = app[SETTINGS]
    body = only_fields(await json_body(request),
                       {"token", "token_id", "expires_at", "user_id", "not_before"}, "revocation")
    now = int(time.time())
    longest = now + int(settings.max_token_lifetime)
    revocations = app[ENGINE].revocations
    if "user_id" in body:
        if {"token", "token_id"} & set(body):
            raise LiveroomError("bad_request", "revoke a token or a user, not both")
        user_id = check_user_id(body["user_id"])
        # By default every token issued so far, this second's included (iat is in seconds).
        not_before = _unix_seconds(body.get("not_before", now + 1), "not_before")
        # A token issued before not_before lives at most the maximum lifetime after it.
        keep_until = not_before + int(settings.max_token_lifetime)
        await revocations.revoke_user(user_id, not_before, keep_until)
        revoked = {"user_id": user_id, "not_before": not_before}
    elif "token" in body or "token_id" in body:
        if "token" in body:
            token_id, expires = _token_facts(body["token"])
        else:
            token_id = body["token_id"]
            if not isinstance(token_id, str) or not 0 < len(token_id) <= 128:
                raise invalid("token_id", "must be a token's id (its jti claim)")
            expires = (_unix_seconds(body["expires_at"], "expires_at")
                       if "expires_at" in body else None)
        # Kept while the token could be valid: until its expiry, never past the longest life.
        keep_until = min(expires, longest) if expires is not None else longest
        await revocations.revoke_token(token_id, keep_until)
        revoked = {"token_id": token_id}
    else:
        raise LiveroomError("bad_request", "give a token, a token_id or a user_id to revoke")
    app[GATE].revocations_read(await revocations.list(now), changed=True)
    return web.json_response({"revoked": revoked, "keep_until": keep_until}, status=201)


async def list_revocations(request: web.Request) -> web.Response:
    operator(request)
    listed = await request.app[ENGINE].revocations.list(int(time.time()))
    return web.json_response(listed.as_dict())
