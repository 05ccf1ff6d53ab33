"""How live video plugs into the app: its routes, channel commands and peer registry."""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

from aiohttp import web

from liveroom.channel.commands import COMMANDS
from liveroom.config import SETTINGS, Settings
from liveroom.engine import ENGINE
from liveroom.metrics import METRICS, set_peer_connections

from . import aiortc_forwarding
from .commands import MEDIA_COMMANDS
from .config import MEDIA_SETTINGS, MediaSettings
from .http import setup_routes
from .keys import ICE_HOSTS, REGISTRY, SERVICE
from .leg_feed import close_feeds, leg_endpoint
from .media_metrics import MediaCollector
from .peer_addresses import PeerAddresses
from .peers import Viewer
from .registry import Registry
from .service import MediaService
from .thumbnails import Thumbnails, serve

log = logging.getLogger(__name__)


def ice_addresses(settings: Settings, media: MediaSettings) -> tuple[str, ...]:
    """LIVEROOM_ICE_ADDRESSES; without it, every interface's addresses but loopback (aioice's
    own choice, an empty answer here), and loopback first when the server listens on loopback
    only (the quickstart): a browser on the same machine reaches that, and clients that never
    use loopback (libnice: GStreamer) reach the others."""
    if media.ice_addresses:
        return media.ice_addresses
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback:
        return ()
    aiortc_forwarding.restrict_host_addresses(())
    return ("127.0.0.1", *aiortc_forwarding.host_addresses())


def instance_url(settings: Settings, media: MediaSettings) -> str:
    """LIVEROOM_INSTANCE_URL, where other instances open this one's relay legs; without it,
    http://<host>:<port>, with the machine's name for a server listening on every interface
    (a container's name in a compose network, a host's on a LAN)."""
    if media.instance_url:
        return media.instance_url.rstrip("/")
    host = settings.host
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


async def _media_ctx(app: web.Application, demo_rooms: dict[str, dict]) -> AsyncIterator[None]:
    settings, engine = app[SETTINGS], app[ENGINE]
    media = replace(app[MEDIA_SETTINGS], instance_url=instance_url(settings, app[MEDIA_SETTINGS]))
    aiortc_forwarding.check()
    aiortc_forwarding.restrict_host_addresses(ice_addresses(settings, media))
    Viewer.forward = media.media_forward
    own = app[ICE_HOSTS] = tuple(aiortc_forwarding.host_addresses())
    peer_addresses = PeerAddresses.for_server(media.ice_peer_networks, own)
    log.info("media: ICE host candidates on %s; checks go to %s", ", ".join(own) or "none",
             peer_addresses.describe())
    registry = app[REGISTRY] = Registry(engine, settings, media, peer_addresses)
    if METRICS in app:
        registry.count_peers = functools.partial(set_peer_connections, app)
        collector = MediaCollector(registry)
        app[METRICS].registry.register(collector)
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
        if METRICS in app:
            app[METRICS].registry.unregister(collector)


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
    app.router.add_get("/internal/media/legs/{room}", leg_endpoint)
    app.on_shutdown.append(close_feeds)


def describe(app: web.Application) -> str:
    """For the start-up banner: where clients' media reaches this instance."""
    own: tuple[str, ...] = app[ICE_HOSTS]
    hosts = ", ".join(own) or "no address"
    return (f"Live video (ICE) on {hosts}; set LIVEROOM_ICE_ADDRESSES to the address clients "
            "reach this server at")
