"""The pages: lobby, viewer room, host studio, moderator console, and the strings a page needs
to switch language in place.

Every room page enters its room through the room gate (liveroom/gate.py), with the token of
its link or, on a reload, of its cookie (security.py). The viewer room is rendered with the
room's live state (live or offline, the pinned product, the sales), so its first paint is
right before the room channel connects; the scripts keep it current from then on.
"""

from __future__ import annotations

from aiohttp import web

from liveroom.config import BASE_CURRENCY, SETTINGS
from liveroom.domain.errors import LiveroomError
from liveroom.gate import GATE
from liveroom.guests import GUEST_COOKIE, GUESTS
from liveroom.room_views import ROOM_VIEWS

from .formatting import Formats
from .i18n import LANG_COOKIE, LANGUAGES
from .render import COOKIE_MAX_AGE, CURRENCY_COOKIE, page_language, render, translator
from .security import STAFF_PAGE, forget_token, keep_token, page_token

STAFF_PAGES = ("studio.html", "console.html")
# A refusal of the cookie's token that a new link would cure: the cookie is dropped.
STALE = ("invalid_token", "token_expired", "wrong_room", "forbidden", "unauthorized")


async def _room_page(request: web.Request, name: str, act: str) -> web.Response:
    """A page about one room for whoever the room gate lets in to do `act`, or a page saying
    why not, with the refusal's status."""
    room_id = request.match_info["room"]
    token, from_link = page_token(request)
    if name in STAFF_PAGES or token:
        request[STAFF_PAGE] = True
    try:
        admission = await request.app[GATE].enter(room_id, token, act)
    except LiveroomError as refused:
        if refused.code == "room_not_found":
            return render(request, "not_found.html", status=404, room_id=room_id)
        response = render(request, "refused.html", status=refused.status, reason=refused.code)
        if token and not from_link and refused.code in STALE:
            forget_token(request, response)
        return response
    view = await request.app[ROOM_VIEWS].summary(admission.room) or admission.room
    lang, _chose = page_language(request)
    settings = request.app[SETTINGS]
    response = render(request, name, room=view, formats=_formats(request, lang),
                      signed_in=admission.token is not None and not admission.identity.guest,
                      page_data={"room": view["id"], "checkout": bool(settings.checkout_url)})
    if from_link and token:
        keep_token(request, response, token)
    elif admission.identity.guest and name == "room.html":
        # The browser keeps who this guest is, so the room channel knows them again.
        guests = request.app[GUESTS]
        kept = guests.for_room(request.cookies.get(GUEST_COOKIE), admission.room_id)
        guests.keep(request, response, kept or guests.token(admission.identity))
    return response


def _formats(request: web.Request, lang: str) -> Formats:
    settings = request.app[SETTINGS]
    chosen = request.query.get("currency") or request.cookies.get(CURRENCY_COOKIE)
    currency = chosen if chosen in settings.rates else settings.currency_for(lang)
    return Formats(LANGUAGES[lang][0], currency, settings.rates, lang)


async def lobby(request: web.Request) -> web.Response:
    return render(request, "lobby.html")


async def room_page(request: web.Request) -> web.Response:
    return await _room_page(request, "room.html", "watch")


async def studio_page(request: web.Request) -> web.Response:
    return await _room_page(request, "studio.html", "publish")


async def console_page(request: web.Request) -> web.Response:
    return await _room_page(request, "console.html", "moderate")


async def language(request: web.Request) -> web.Response:
    """`GET /i18n/{lang}`: what a page needs to switch to `lang` in place: every string of the
    templates and scripts, the locale, and the currency that language converts to (unless the
    viewer picked one). Remembers the choice, like the switcher's ?lang=."""
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise LiveroomError("not_found", f"no language {lang!r}")
    settings = request.app[SETTINGS]
    chosen = request.cookies.get(CURRENCY_COOKIE)
    response = web.json_response({
        "lang": lang,
        "locale": LANGUAGES[lang][0],
        "messages": translator(request, lang).all_messages(),
        "currency": chosen if chosen in settings.rates else settings.currency_for(lang),
    })
    response.set_cookie(LANG_COOKIE, lang, max_age=COOKIE_MAX_AGE, samesite="Lax", path="/")
    return response


async def currency_rates(request: web.Request) -> web.Response:
    """The rates pages convert prices with (a sale carries its own: see domain/sales.py)."""
    return web.json_response({"base": BASE_CURRENCY, "rates": request.app[SETTINGS].rates})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", lobby, name="lobby")
    app.router.add_get("/rooms/{room}", room_page, name="room")
    app.router.add_get("/studio/{room}", studio_page, name="studio")
    app.router.add_get("/console/{room}", console_page, name="console")
    app.router.add_get("/i18n/{lang}", language, name="language")
    app.router.add_get("/api/currency-rates", currency_rates, name="currency_rates")
