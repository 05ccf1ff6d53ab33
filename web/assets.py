"""The pages' static files, served from memory: compressed, and cached for good when versioned.

Every file under web/static is read once at start-up. The pages load their scripts and styles
from `/static/v/<version>/...`, where the version is a hash of every file's content: such a
URL never changes meaning, so browsers and caches keep it a year without asking again
(`immutable`), and a deployment that changes any file changes every URL. The scripts import
each other by relative paths, which stay inside the same version. Unversioned `/static/...`
(product pictures named in product records) is revalidated with its ETag instead.

Text files (scripts, styles, SVG, JSON) go out gzip-compressed to clients that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_COMPRESS_BYTES = 256
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
         ".svg": "image/svg+xml", ".json": "application/json"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


class Assets:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, Asset] = {}
        digest = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            body = path.read_bytes()
            digest.update(name.encode() + b"\0" + body + b"\0")
            self._files[name] = _asset(name, body)
        self.version = digest.hexdigest()[:12]

    def url(self, name: str) -> str:
        """The versioned, cache-forever URL of a file under web/static."""
        if name not in self._files:
            raise KeyError(f"no static file {name!r}")
        return f"/static/v/{self.version}/{name}"

    async def serve(self, request: web.Request) -> web.StreamResponse:
        asset = self._files.get(request.match_info["path"])
        if asset is None:
            raise web.HTTPNotFound()
        version = request.match_info.get("version")
        # An old version is answered with today's file, not cached for good under that name.
        cache = IMMUTABLE if version == self.version else REVALIDATE
        headers = {"Cache-Control": cache, "ETag": asset.etag, "Vary": "Accept-Encoding"}
        if asset.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            body, headers["Content-Encoding"] = asset.gzipped, "gzip"
        return web.Response(body=body, headers=headers, content_type=asset.content_type)


def _asset(name: str, body: bytes) -> Asset:
    suffix = Path(name).suffix.lower()
    content_type = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    gzipped = None
    if content_type.startswith(COMPRESSIBLE) and len(body) >= MIN_COMPRESS_BYTES:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(body, gzipped, content_type, f'"{hashlib.sha256(body).hexdigest()[:16]}"')


ASSETS = web.AppKey("assets", Assets)


def setup_assets(app: web.Application, root: Path) -> Assets:
    assets = app[ASSETS] = Assets(root)
    app.router.add_get("/static/v/{version}/{path:.+}", assets.serve, name="versioned_static")
    app.router.add_get("/static/{path:.+}", assets.serve, name="static")
    return assets
