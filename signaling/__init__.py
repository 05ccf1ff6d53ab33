"""WebRTC signaling and the media relay (aiortc). The only package that imports aiortc.

Media is not relayed yet: the room channel and the pages work without it, and the app factory
already composes this package so that adding media changes nothing outside it.
"""

from __future__ import annotations

from aiohttp import web


def setup_signaling(app: web.Application) -> None:
    """Register signaling routes and the peer registry (none yet)."""
