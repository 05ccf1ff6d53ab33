"""The HLS part's app state."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from .service import HlsService

HLS = web.AppKey("hls", HlsService)
HLS_CLIENT = web.AppKey("hls_client", aiohttp.ClientSession)  # proxies to the origin
