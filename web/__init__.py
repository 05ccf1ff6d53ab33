"""The pages: lobby, viewer room, host studio, moderator console (jinja2, plain ES modules).

Templates get only what the server knows for sure (room id, the token from the link); everything
live comes from the room channel in the browser, and user text is only ever set as textContent.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from liveroom import __version__
from liveroom.keys import ENGINE
from liveroom.validation import SLUG

HERE = Path(__file__).parent
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def _render(request: web.Request, name: str, *, status: int = 200, **context) -> web.Response:
    template = request.app[TEMPLATES].get_template(name)
    html = template.render(version=__version__, **context)
    return web.Response(text=html, status=status, content_type="text/html")


async def _room_page(request: web.Request, name: str) -> web.Response:
    """A page about one room, or a page saying there is no such room (404, in HTML)."""
    room_id = request.match_info["room"]
    room = await request.app[ENGINE].store.get_room(room_id) if SLUG.match(room_id) else None
    if room is None:
        return _render(request, "not_found.html", status=404, room_id=room_id)
    return _render(request, name, room=room)


async def lobby(request: web.Request) -> web.Response:
    return _render(request, "lobby.html")


async def room_page(request: web.Request) -> web.Response:
    return await _room_page(request, "room.html")


async def studio_page(request: web.Request) -> web.Response:
    return await _room_page(request, "studio.html")


async def console_page(request: web.Request) -> web.Response:
    return await _room_page(request, "console.html")


def setup_web(app: web.Application) -> None:
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_get("/", lobby, name="lobby")
    app.router.add_get("/rooms/{room}", room_page, name="room")
    app.router.add_get("/studio/{room}", studio_page, name="studio")
    app.router.add_get("/console/{room}", console_page, name="console")
    app.router.add_static("/static", HERE / "static", name="static")
