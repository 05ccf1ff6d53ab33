"""Typed application state: every AppKey of the app, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .config import Settings

if TYPE_CHECKING:
    from .channel.fanout import Fanout
    from .engine import Engine

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", "Engine")
FANOUT = web.AppKey("fanout", "Fanout")
