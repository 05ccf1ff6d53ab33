"""Live video: WebRTC signaling (room channel commands, WHIP, WHEP) and the relay that forwards
a host's encoded media to every viewer (aiortc). The only package that imports aiortc.

    registry.py           every peer session of this instance, and the background checks
    peers.py              a publisher's or a viewer's peer connection
    relay.py              Sources and ForwardTracks: encoded frames from one to many
    aiortc_forwarding.py  the only code that reaches into aiortc's internals
    sdp.py                offer checks and the codec choice
    service.py            publish / play / trickle / stop, here or routed (routing.py)
    http.py               WHIP and WHEP;  commands.py  the room channel commands
    ice.py                STUN/TURN servers and TURN credentials
    demo_host.py          the synthetic host of demo rooms (testcard.py draws its picture)

It plugs into the app through setup_signaling(); the room's live state lives in the engine
(liveroom/engine/media.py), so snapshots and the lobby show it on every instance.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import AsyncIterator

from aiohttp import web

from liveroom.config import SETTINGS
from liveroom.engine import ENGINE

from . import (
    aiortc_forwarding,
    commands,  # noqa: F401  (registers the media commands)
)
from .http import setup_routes
from .keys import REGISTRY, SERVICE
from .registry import Registry
from .service import MediaService


def ice_addresses(settings) -> tuple[str, ...]:
    """LIVEROOM_ICE_ADDRESSES; without it, a server listening on loopback only (the quickstart)
    offers loopback, and any other one every interface's addresses but loopback."""
    if settings.ice_addresses:
        return settings.ice_addresses
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    return ("127.0.0.1",) if loopback else ()


async def _media_ctx(app: web.Application, demo_rooms: dict[str, dict]) -> AsyncIterator[None]:
    settings, engine = app[SETTINGS], app[ENGINE]
    aiortc_forwarding.check()
    aiortc_forwarding.restrict_host_addresses(ice_addresses(settings))
    registry = app[REGISTRY] = Registry(engine, settings)
    service = app[SERVICE] = MediaService(registry, engine)
    if demo_rooms:
        registry.enable_demo(demo_rooms)
    registry.start()
    try:
        yield
    finally:
        await registry.close()
        await service.close()


def setup_signaling(app: web.Application, *, demo_rooms: dict[str, dict] | None = None) -> None:
    """Add WHIP/WHEP routes and the peer registry; needs the engine's context before it.
    `demo_rooms` (room id -> record) get a demo host streaming a test card while nobody else
    publishes."""
    app.cleanup_ctx.append(functools.partial(_media_ctx, demo_rooms=demo_rooms or {}))
    setup_routes(app)
