"""The pages: lobby, viewer room, host studio, moderator console (jinja2, plain ES modules).

Templates get only what the server knows for sure (room id, the token from the link, the
page's language and the operator's currency rates); everything live comes from the room
channel in the browser, and user text is only ever set as textContent.
"""

from __future__ import annotations

import re

import jinja2
from aiohttp import web

from liveroom import __version__
from liveroom.config import BASE_CURRENCY, SETTINGS
from liveroom.domain.errors import LiveroomError
from liveroom.gate import GATE

from .i18n import (
    HERE,
    LANG_COOKIE,
    LANGUAGES,
    Translator,
    load_translations,
    negotiate,
    script_msgids,
)

TEMPLATES = web.AppKey("templates", jinja2.Environment)
TRANSLATIONS = web.AppKey("translations", dict)
CURRENCY_COOKIE = "liveroom_currency"
COOKIE_MAX_AGE = 365 * 86400
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Query parameters the language and currency switcher sets; the others (a staff page's token)
# are carried through it as hidden fields, so switching keeps the page working.
SWITCHER_PARAMS = ("lang", "currency")


def _choice(request: web.Request, name: str, cookie: str, allowed) -> tuple[str | None, bool]:
    """A switcher choice from the query (to be remembered) or the cookie."""
    value = request.query.get(name)
    if value in allowed:
        return value, True
    value = request.cookies.get(cookie)
    return (value if value in allowed else None), False


def _page_context(request: web.Request) -> tuple[dict, dict[str, str]]:
    rates = request.app[SETTINGS].rates
    keep_lang = request.query.get("lang") in LANGUAGES
    lang = negotiate(request.query.get("lang"), request.cookies.get(LANG_COOKIE),
                     request.headers.get("Accept-Language", ""))
    currency, keep_currency = _choice(request, "currency", CURRENCY_COOKIE, rates)
    currency = currency or BASE_CURRENCY
    translator = Translator(lang, request.app[TRANSLATIONS][lang])
    remember = {}
    if keep_lang:
        remember[LANG_COOKIE] = lang
    if keep_currency:
        remember[CURRENCY_COOKIE] = currency
    context = {
        "_": translator,
        "lang": lang,
        "html_lang": LANGUAGES[lang][0],
        "languages": [(code, name) for code, (_tag, name) in LANGUAGES.items()],
        "currency": currency,
        "currencies": sorted(rates),
        "carry": [(k, v) for k, v in request.query.items() if k not in SWITCHER_PARAMS],
        # What the page's scripts need, embedded as JSON (see static/js/i18n.js, money.js).
        "page_data": {
            "lang": lang,
            "locale": LANGUAGES[lang][0],
            "messages": translator.script_messages(),
            "currency": currency,
            "rates": rates,
        },
    }
    return context, remember


def _render(request: web.Request, name: str, *, status: int = 200, **context) -> web.Response:
    page, remember = _page_context(request)
    template = request.app[TEMPLATES].get_template(name)
    html = template.render(version=__version__, **page, **context)
    response = web.Response(text=html, status=status, content_type="text/html")
    # The same URL is another page in another language: caches must keep them apart.
    response.headers["Vary"] = "Accept-Language, Cookie"
    for cookie, value in remember.items():
        response.set_cookie(cookie, value, max_age=COOKIE_MAX_AGE, samesite="Lax", path="/")
    return response


async def _room_page(request: web.Request, name: str, act: str) -> web.Response:
    """A page about one room for whoever the room gate lets in to do `act` (the token comes
    in the link, ?token=), or a page saying why not, with the refusal's status."""
    room_id = request.match_info["room"]
    try:
        admission = await request.app[GATE].enter(room_id, request.query.get("token"), act)
    except LiveroomError as refused:
        if refused.code == "room_not_found":
            return _render(request, "not_found.html", status=404, room_id=room_id)
        return _render(request, "refused.html", status=refused.status, reason=refused.code)
    return _render(request, name, room=admission.room)


async def lobby(request: web.Request) -> web.Response:
    return _render(request, "lobby.html")


async def room_page(request: web.Request) -> web.Response:
    return await _room_page(request, "room.html", "watch")


async def studio_page(request: web.Request) -> web.Response:
    return await _room_page(request, "studio.html", "publish")


async def console_page(request: web.Request) -> web.Response:
    return await _room_page(request, "console.html", "moderate")


async def currency_rates(request: web.Request) -> web.Response:
    """The rates pages convert prices with (a sale carries its own: see liveroom/sales.py)."""
    return web.json_response({"base": BASE_CURRENCY, "rates": request.app[SETTINGS].rates})


def setup_web(app: web.Application) -> None:
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app[TRANSLATIONS] = load_translations()
    script_msgids()  # read the scripts' strings now rather than on the first page view
    app.router.add_get("/", lobby, name="lobby")
    app.router.add_get("/rooms/{room}", room_page, name="room")
    app.router.add_get("/studio/{room}", studio_page, name="studio")
    app.router.add_get("/console/{room}", console_page, name="console")
    app.router.add_get("/api/currency-rates", currency_rates, name="currency_rates")
    app.router.add_static("/static", HERE / "static", name="static")
