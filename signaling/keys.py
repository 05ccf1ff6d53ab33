"""The signaling package's app state."""

from __future__ import annotations

from aiohttp import web

from .registry import Registry
from .service import MediaService

REGISTRY = web.AppKey("media_registry", Registry)
SERVICE = web.AppKey("media_service", MediaService)
# The addresses this instance offers ICE host candidates on.
ICE_HOSTS: web.AppKey[tuple[str, ...]] = web.AppKey("media_ice_hosts")
