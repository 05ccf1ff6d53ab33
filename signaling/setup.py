"""How live video plugs into the app: its routes, channel commands and peer registry."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import AsyncIterator

from aiohttp import web

from liveroom.channel.commands import COMMANDS
from liveroom.config import SETTINGS, Settings
from liveroom.engine import ENGINE

from . import aiortc_forwarding
from .commands import MEDIA_COMMANDS
from .config import MEDIA_SETTINGS, MediaSettings
from .http import setup_routes
from .keys import REGISTRY, SERVICE
from .registry import Registry
from .service import MediaService
from .thumbnails import Thumbnails, serve


def ice_addresses(settings: Settings, media: MediaSettings) -> tuple[str, ...]:
    """LIVEROOM_ICE_ADDRESSES; without it, a server listening on loopback only (the quickstart)
    offers loopback, and any other one every interface's addresses but loopback."""
    if media.ice_addresses:
        return media.ice_addresses
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    return ("127.0.0.1",) if loopback else ()


async def _media_ctx(app: web.Application, demo_rooms: dict[str, dict]) -> AsyncIterator[None]:
    settings, media, engine = app[SETTINGS], app[MEDIA_SETTINGS], app[ENGINE]
    aiortc_forwarding.check()
    aiortc_forwarding.restrict_host_addresses(ice_addresses(settings, media))
    registry = app[REGISTRY] = Registry(engine, settings, media)
    service = app[SERVICE] = MediaService(registry, engine)
    if demo_rooms:
        registry.enable_demo(demo_rooms)
    registry.start()
    thumbnails = Thumbnails(registry, engine)
    thumbnails.start()
    try:
        yield
    finally:
        await thumbnails.close()
        await registry.close()
        await service.close()


def setup_signaling(app: web.Application, media: MediaSettings, *,
                    demo_rooms: dict[str, dict] | None = None) -> None:
    """Add WHIP/WHEP routes, the media commands and the peer registry; needs the engine's
    context and the room channel set up before it.
    `demo_rooms` (room id -> record) get a demo host streaming a test card while nobody else
    publishes."""
    app[MEDIA_SETTINGS] = media
    app[COMMANDS].include(MEDIA_COMMANDS)
    app.cleanup_ctx.append(functools.partial(_media_ctx, demo_rooms=demo_rooms or {}))
    setup_routes(app)
    app.router.add_get("/rooms/{room}/thumbnail.jpg", serve, name="room_thumbnail")
