"""Cross-origin WHIP and WHEP: a browser client on another origin (a shop's own page playing
the room, a WHIP publisher page) may call the endpoints when its origin is allowed.

Allowed are the server's own origin and those of LIVEROOM_MEDIA_ORIGINS (`*`: any). A browser
asks first (a preflight `OPTIONS`, since these requests carry an SDP body or an Authorization
header); an allowed origin is answered with what it may send and then may read the headers a
WHIP/WHEP client needs (`Location`, `ETag`, `Link`, `Accept-Patch`); any other is refused with
403 `forbidden`, on the preflight and on the request itself. Requests without an `Origin`
(OBS, GStreamer, curl) are not browsers' and are not concerned.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from liveroom.config import SETTINGS
from liveroom.domain.errors import LiveroomError

from .config import MEDIA_SETTINGS

PATHS = ("/whip/", "/whep/")
ALLOW_HEADERS = "Authorization, Content-Type, If-Match"
EXPOSE_HEADERS = "Location, ETag, Link, Accept-Patch, Accept-Post, X-Request-Id"
MAX_AGE = "600"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed(request: web.Request, origin: str) -> bool:
    origin = origin.rstrip("/").lower()
    if origin == _origin_of(request.app[SETTINGS].base_url):
        return True
    if urlsplit(origin).netloc == request.host.lower():  # the page came from this address
        return True
    others = request.app[MEDIA_SETTINGS].media_origins
    return "*" in others or origin in (o.rstrip("/").lower() for o in others)


def check(request: web.Request) -> None:
    """Refuse a browser request from an origin that may not use WHIP/WHEP here."""
    origin = request.headers.get("Origin")
    if origin is not None and not allowed(request, origin):
        raise LiveroomError("forbidden", f"pages of {origin} may not use WHIP/WHEP on this "
                            "server (LIVEROOM_MEDIA_ORIGINS)")


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the CORS headers of every WHIP/WHEP answer, errors included, so
    that a page can read why it was refused."""
    if not request.path.startswith(PATHS):
        return
    origin = request.headers.get("Origin")
    response.headers.add("Vary", "Origin")
    if origin is None or not allowed(request, origin):
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = response.headers.get(
            "Allow", "POST, PATCH, DELETE, OPTIONS")
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
