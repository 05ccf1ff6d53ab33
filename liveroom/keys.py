"""Typed application state: every AppKey of the app, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .config import Settings

if TYPE_CHECKING:
    from .channel.fanout import Fanout
    from .channel.registry import Connections
    from .channel.tickers import SaleClock
    from .engine import Engine
    from .lifecycle import Lifecycle
    from .metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", "Engine")
FANOUT = web.AppKey("fanout", "Fanout")
METRICS = web.AppKey("metrics", "Metrics")
LIFECYCLE = web.AppKey("lifecycle", "Lifecycle")
CONNECTIONS = web.AppKey("connections", "Connections")
SALE_CLOCK = web.AppKey("sale_clock", "SaleClock")
