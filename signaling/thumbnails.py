"""Live thumbnails: a still of each live room, for the lobby's cards and shared links.

Every few seconds the instance holding a room's media decodes the latest keyframe its relay
already holds (the video Source's keyframe group, see relay.py) with PyAV, scales it down and
encodes one small JPEG. Nothing else of the stream is decoded and nothing is re-encoded: one
intra frame every few seconds, in a worker thread, off the event loop. The JPEG goes into the
engine with a short TTL (Media.put_thumbnail), so every instance serves it, and a room that
stops being live soon has none.

    GET /rooms/{room}/thumbnail.jpg    the still (through the room gate: a private room needs
                                       its token); 204 No Content while the room has none
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import logging

import av
from aiohttp import web

from liveroom.domain import auth
from liveroom.domain.errors import EngineUnavailable
from liveroom.engine import ENGINE, Engine
from liveroom.gate import GATE
from liveroom.tasks import stop_tasks

from .registry import Registry
from .relay import Frame

log = logging.getLogger(__name__)

INTERVAL = 4.0  # seconds between two stills of a live room
TTL = 15.0  # how long a still stays served once its room stops being live
BOX = 480  # the still fits in BOX x BOX pixels


def still(mime: str, keyframe: bytes, box: int = BOX) -> bytes:
    """One encoded keyframe in, one JPEG out (no larger than box x box, even sides)."""
    if mime.lower() == "video/vp8":
        decoder = av.CodecContext.create("vp8", "r")
    elif mime.lower() == "video/h264":
        decoder = av.CodecContext.create("h264", "r")
    else:
        raise ValueError(f"no still from {mime}")
    frames = [*decoder.decode(av.Packet(keyframe)), *decoder.decode(None)]
    if not frames:
        raise ValueError("the keyframe decoded to no picture")
    frame = frames[0]
    scale = min(1.0, box / max(frame.width, frame.height))
    width, height = (max(2, int(side * scale) // 2 * 2) for side in (frame.width, frame.height))
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
    encoder.time_base = fractions.Fraction(1, 25)
    encoder.options = {"qscale": "5"}
    packets = [*encoder.encode(picture), *encoder.encode(None)]
    return bytes(packets[0])


class Thumbnails:
    """Takes a still of every room this instance publishes, while it is live."""

    def __init__(self, registry: Registry, engine: Engine, interval: float = INTERVAL) -> None:
        self._registry = registry
        self._engine = engine
        self._interval = interval
        self._last: dict[str, Frame] = {}  # room -> the keyframe of its last still
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="thumbnails")

    async def close(self) -> None:
        await stop_tasks(self._task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.take()
            except EngineUnavailable as exc:
                log.warning("thumbnails: %s", exc)
            except Exception:
                log.exception("thumbnails failed")

    async def take(self) -> int:
        """A still of each live room whose keyframe is new since its last one; how many."""
        taken = 0
        for (room, slot), publisher in list(self._registry.publishers.items()):
            source = publisher.sources.get("video")
            if slot != "host" or not publisher.live or source is None or not source.gop:
                continue
            keyframe = source.gop[0]
            if self._last.get(room) is keyframe:
                continue  # no new keyframe: the still would be the same
            try:
                jpeg = await asyncio.to_thread(still, source.codec.mime, keyframe.data)
            except (ValueError, av.FFmpegError) as exc:
                log.info("room %s: no still from its keyframe (%s)", room, exc)
                continue
            self._last[room] = keyframe
            await self._engine.media.put_thumbnail(room, jpeg, TTL)
            taken += 1
        for room in set(self._last) - {room for room, _slot in self._registry.publishers}:
            del self._last[room]
        return taken


async def serve(request: web.Request) -> web.Response:
    """`GET /rooms/{room}/thumbnail.jpg`, from the engine: any instance answers."""
    token = request.query.get("token") or auth.bearer(request.headers.get("Authorization"))
    admission = await request.app[GATE].enter(request.match_info["room"], token, "watch")
    jpeg = await request.app[ENGINE].media.thumbnail(admission.room_id)
    if jpeg is None:  # not an error: the room is not live, or its first still is coming
        return web.Response(status=204, headers={"Cache-Control": "no-cache"})
    etag = f'"{hashlib.sha256(jpeg).hexdigest()[:16]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=jpeg, content_type="image/jpeg", headers=headers)
