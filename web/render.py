"""A page in the reader's language and currency: the template context every page shares, and
the JSON the page's scripts start from (#page-data).

A page's language is `?lang=` (remembered in a cookie), else the cookie, else the browser's
Accept-Language (web/i18n.py). Its second currency is `?currency=` or the cookie, else the one
the operator gives its language (LIVEROOM_LANGUAGE_CURRENCIES).
"""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from liveroom import __version__
from liveroom.config import SETTINGS, Settings

from .assets import ASSETS
from .i18n import LANG_COOKIE, LANGUAGES, Translator, negotiate

TEMPLATES = web.AppKey("templates", jinja2.Environment)
TRANSLATIONS = web.AppKey("translations", dict)
CURRENCY_COOKIE = "liveroom_currency"
COOKIE_MAX_AGE = 365 * 86400
# Query parameters the language and currency switcher sets. A page's token is never carried
# through it: the page's cookie lets a page in again without it (web/security.py).
SWITCHER_PARAMS = ("lang", "currency", "token")


def translator(request: web.Request, lang: str) -> Translator:
    return Translator(lang, request.app[TRANSLATIONS][lang])


def page_language(request: web.Request) -> tuple[str, bool]:
    """The page's language, and whether the query chose it (to be remembered)."""
    lang = negotiate(request.query.get("lang"), request.cookies.get(LANG_COOKIE),
                     request.headers.get("Accept-Language", ""))
    return lang, request.query.get("lang") in LANGUAGES


def chosen_currency(request: web.Request, settings: Settings) -> tuple[str | None, bool]:
    """A currency the viewer picked (query or cookie), and whether the query picked it."""
    rates = settings.rates
    value = request.query.get("currency")
    if value in rates:
        return value, True
    value = request.cookies.get(CURRENCY_COOKIE)
    return (value if value in rates else None), False


def page_context(request: web.Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The context every template gets, and the cookies to set (choices to remember)."""
    settings = request.app[SETTINGS]
    lang, keep_lang = page_language(request)
    chosen, keep_currency = chosen_currency(request, settings)
    currency = chosen or settings.currency_for(lang)
    _ = translator(request, lang)
    remember = {}
    if keep_lang:
        remember[LANG_COOKIE] = lang
    if keep_currency and chosen:
        remember[CURRENCY_COOKIE] = chosen
    context = {
        "_": _,
        "tr": _.tr,
        "ta": _.ta,
        "asset": request.app[ASSETS].url,
        "version": __version__,
        "lang": lang,
        "html_lang": LANGUAGES[lang][0],
        "languages": [(code, name) for code, (_tag, name) in LANGUAGES.items()],
        "currency": currency,
        "currencies": sorted(settings.rates),
        "carry": [(k, v) for k, v in request.query.items() if k not in SWITCHER_PARAMS],
        # Where people reach us, for absolute links (og: tags): the operator's public URL, or
        # the address this request came to.
        "base_url": (settings.public_url.rstrip("/") if settings.public_url
                     else str(request.url.origin())),
        # What the page's scripts need, embedded as JSON (see static/js/i18n.js, money.js).
        "page_data": {
            "lang": lang,
            "locale": LANGUAGES[lang][0],
            "messages": _.script_messages(),
            "currency": currency,
            "currency_chosen": chosen is not None,
            "rates": settings.rates,
            "signin_url": settings.signin_url,
        },
    }
    return context, remember


def render(request: web.Request, name: str, *, status: int = 200, **context: Any
           ) -> web.Response:
    page, remember = page_context(request)
    extra_data = context.pop("page_data", {})
    page["page_data"].update(extra_data)
    template = request.app[TEMPLATES].get_template(name)
    html = template.render(**page, **context)
    response = web.Response(text=html, status=status, content_type="text/html")
    # The same URL is another page in another language: caches must keep them apart.
    response.headers["Vary"] = "Accept-Language, Cookie"
    for cookie, value in remember.items():
        response.set_cookie(cookie, value, max_age=COOKIE_MAX_AGE, samesite="Lax", path="/")
    return response
