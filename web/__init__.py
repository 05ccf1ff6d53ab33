"""The pages: lobby, viewer room, host studio, moderator console (jinja2, plain ES modules).

They enter rooms through the room gate and read rooms' live state through the room views
(liveroom/room_views.py), never the engine; user text is only ever set as textContent.
Modules: pages.py (the routes), render.py (a page in its language and currency), i18n.py (the
catalogs), formatting.py (numbers, money and content in the first paint), assets.py (static
files), security.py (headers, and tokens kept out of page addresses).
"""

from __future__ import annotations

import jinja2
from aiohttp import web

from .assets import setup_assets
from .i18n import HERE, load_translations, script_msgids
from .pages import add_routes
from .render import TEMPLATES, TRANSLATIONS
from .security import setup_security

__all__ = ["setup_web", "TEMPLATES", "TRANSLATIONS"]


def setup_web(app: web.Application) -> None:
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app[TRANSLATIONS] = load_translations()
    script_msgids()  # read the scripts' strings now rather than on the first page view
    setup_security(app)
    add_routes(app)
    setup_assets(app, HERE / "static")
