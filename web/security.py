"""What every response tells the browser to keep pages safe, and how a page's access token
stays out of its address.

Headers (on every response, so the static files and the API carry them too):
- `Content-Security-Policy`: scripts and styles only from this origin, no inline code (the
  one inline block, #page-data, is JSON, which is never run), no plugins, no <base>, forms
  only to us, and `frame-ancestors 'none'`: no other site may frame a page (clickjacking).
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin`,
  and `Server` without a version.
- Staff pages (studio, console) and any page opened with a token: `Cache-Control: no-store`
  (no copy of the page on disk or in a shared cache) and `Referrer-Policy: no-referrer`.

Access tokens in page links (`?token=`, how a shop links its signed-in customers and how
hosts and moderators get their pages). The page's first script, before anything else loads,
moves the token into sessionStorage and takes it out of the address bar
(history.replaceState), so it is not in the history, a bookmark, a shared screenshot or a
Referer. Everything on the page that needs it reads it from sessionStorage (the room channel,
the REST calls). For a reload, the server must still let the page in through the room gate:
the first load, whose token the gate accepted, sets it as a cookie for that page's path only
(`/studio/<room>`, ...), HttpOnly (scripts cannot read it), SameSite=Strict (no other site's
link or form sends it), Secure over https, ending with the browser session. A load without
`?token=` hands the gate that cookie's token instead. A cookie whose token the gate refuses
(expired, revoked) is cleared.
"""

from __future__ import annotations

from aiohttp import web

from liveroom.config import SETTINGS

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: data: blob:",  # product images may live on a shop's CDN
    "media-src 'self' blob:",
    "connect-src 'self'",  # fetch and the room channel's WebSocket, same origin only
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
TOKEN_COOKIE = "liveroom_token"
STAFF_PAGE = web.RequestKey("staff_page", bool)  # this response must not be kept or leak


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the headers above, on every response."""
    headers = response.headers
    headers["Server"] = "liveroom"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.get(STAFF_PAGE):
        headers["Cache-Control"] = "no-store"
        headers["Referrer-Policy"] = "no-referrer"
    else:
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")


def page_token(request: web.Request) -> tuple[str | None, bool]:
    """The token this page load presents to the gate, and whether it came in the link (to be
    kept in the page's cookie) rather than from the cookie."""
    given = request.query.get("token")
    if given:
        return given, True
    return request.cookies.get(TOKEN_COOKIE) or None, False


def keep_token(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """The page's cookie: this path only, out of scripts' reach, never sent by another site."""
    response.set_cookie(
        TOKEN_COOKIE, token, path=request.path, httponly=True, samesite="Strict",
        secure=request.secure or request.app[SETTINGS].base_url.startswith("https://"))


def forget_token(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(TOKEN_COOKIE, path=request.path)


def setup_security(app: web.Application) -> None:
    app.on_response_prepare.append(security_headers)
