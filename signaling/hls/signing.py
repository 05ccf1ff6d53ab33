"""Signatures that let HTTP caches serve a private room's HLS without seeing anyone's token.

- **Segment URLs.** A private room's playlist, fetched with a token, names its segments with
  `?exp=<Unix seconds>&sig=<hex>`: an HMAC of the room and the expiry, with a key derived from
  the instances' shared secret for this purpose alone. Expiries are rounded up to a window
  (WINDOW), so every viewer of a room gets the same URLs for a while and a cache keyed on the
  whole URL fetches each segment from the origin about once per window; the signature opens
  only that room's files, and lapses.
- **Instance to instance.** An instance that proxies a room's HLS to the room's origin says so
  in `X-Liveroom-Hls` (instance, expiry, HMAC over the room): the origin serves it without
  asking for the viewer's token again (the proxying instance checked it) and never proxies on.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

TTL = 600  # a signed segment URL is good for at least this long
WINDOW = 300  # expiries are rounded up to this, so viewers share URLs
HOP_TTL = 30
HOP_HEADER = "X-Liveroom-Hls"
_SEGMENT = b"liveroom hls segment v1"  # each key is derived for one purpose
_HOP = b"liveroom hls hop v1"


def _mac(secret: str, purpose: bytes, body: str) -> str:
    key = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def segment_query(secret: str, room: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    expires = int(math.ceil((now + TTL) / WINDOW) * WINDOW)
    signature = _mac(secret, _SEGMENT, f"{room}\n{expires}")
    return f"?exp={expires}&sig={signature}"


def segment_allowed(secret: str, room: str, expires: str | None, signature: str | None,
                    now: float | None = None) -> bool:
    if not expires or not signature or not expires.isdigit():
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(
        signature, _mac(secret, _SEGMENT, f"{room}\n{expires}"))


def hop(secret: str, room: str, instance: str, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + HOP_TTL)
    signature = _mac(secret, _HOP, f"{room}\n{instance}\n{expires}")
    return f"{instance}.{expires}.{signature}"


def hop_allowed(secret: str, room: str, value: str | None, now: float | None = None) -> bool:
    instance, _, rest = (value or "").partition(".")
    expires, _, signature = rest.partition(".")
    if not instance or not expires.isdigit():
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(
        signature, _mac(secret, _HOP, f"{room}\n{instance}\n{expires}"))
