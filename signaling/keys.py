"""The signaling package's app state."""

from __future__ import annotations

from aiohttp import web

from .registry import Registry
from .service import MediaService

REGISTRY = web.AppKey("media_registry", Registry)
SERVICE = web.AppKey("media_service", MediaService)
