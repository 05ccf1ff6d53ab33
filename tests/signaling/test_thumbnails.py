"""Live thumbnails: a JPEG still of a live room, decoded from the relay's latest keyframe, kept
in the engine so every instance serves it, and refreshed while the room is live."""

from __future__ import annotations

import fractions

import aiohttp
import av

from liveroom.engine import ENGINE
from liveroom.server.app import create_app
from signaling.keys import REGISTRY
from signaling.thumbnails import still

from ..conftest import demo_product, demo_room
from ..helpers import eventually, token
from .clients import H, W, obs_packets, pattern_frame, read_pattern
from .conftest import MEDIA
from .test_whip_whep import publish

ROOM = "thailand"


def _decoded(jpeg: bytes) -> av.VideoFrame:
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    return av.CodecContext.create("mjpeg", "r").decode(av.Packet(jpeg))[0]


def _vp8_keyframe(n: int) -> bytes:
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = W, H, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    frame = pattern_frame(n)
    frame.pts = 0
    return [bytes(p) for p in [*encoder.encode(frame), *encoder.encode(None)]][0]


def test_a_still_is_the_keyframes_picture_as_a_small_jpeg():
    for mime, keyframe in (("video/VP8", _vp8_keyframe(77)), ("video/H264", obs_packets()[0])):
        picture = _decoded(still(mime, keyframe))
        assert (picture.width, picture.height) == (W, H), mime  # small already: not enlarged
        expected = 77 if mime == "video/VP8" else 0
        assert read_pattern(picture.reformat(format="yuv420p")) == expected, mime
    shrunk = _decoded(still("video/VP8", _vp8_keyframe(1), box=160))
    assert (shrunk.width, shrunk.height) == (160, 120)


async def _thumbnail(http, srv, **params) -> tuple[int, bytes]:
    async with http.get(f"{srv.base_url}/rooms/{ROOM}/thumbnail.jpg", params=params) as r:
        return r.status, await r.read()


async def test_a_live_room_has_a_thumbnail_that_follows_the_video(media_server, http, peers):
    srv = await media_server()
    assert await _thumbnail(http, srv) == (204, b"")  # nobody live: no picture
    await publish(srv, http, peers, obs=True)  # a keyframe every 32 frames, the picture moving
    status, first = await eventually(lambda: _ok(http, srv), timeout=20, what="a thumbnail")
    assert _decoded(first).width == W
    later = await eventually(lambda: _ok(http, srv, other_than=first), timeout=20,
                             what="a newer thumbnail")
    assert later[1] != first
    # Nobody decodes the stream: only keyframes, one every few seconds.
    publisher = next(iter(srv.registry.publishers.values()))
    assert publisher.sources["video"].frames_in > 60


async def _ok(http, srv, other_than: bytes | None = None):
    status, body = await _thumbnail(http, srv)
    return (status, body) if status == 200 and body != other_than else None


async def test_a_private_rooms_thumbnail_needs_its_token(media_server, http):
    srv = await media_server()
    await srv.app_engine.store.create_room(demo_room("secret-room", public=False))
    await srv.app_engine.media.put_thumbnail("secret-room", b"\xff\xd8jpeg\xff\xd9", 30)
    url = f"{srv.base_url}/rooms/secret-room/thumbnail.jpg"
    async with http.get(url) as refused:
        assert refused.status == 401
    async with http.get(url, params={"token": token("secret-room")}) as allowed:
        assert allowed.status == 200 and allowed.content_type == "image/jpeg"
        assert await allowed.read() == b"\xff\xd8jpeg\xff\xd9"


async def test_every_instance_serves_the_thumbnail_of_a_room_live_on_another(
        make_settings, aiohttp_server, http, peers):
    """Two instances on one Redis: the host publishes to the first, the lobby asks the second."""
    servers = []
    for _ in range(2):
        app = create_app(make_settings("redis", **MEDIA))
        srv = await aiohttp_server(app)
        srv.base_url = str(srv.make_url("")).rstrip("/")
        srv.registry = app[REGISTRY]
        servers.append(srv)
    first, second = servers
    store = first.app[ENGINE].store
    await store.create_room(demo_room())
    await store.put_product(ROOM, demo_product(), create=True)
    await publish(first, http, peers, obs=True)
    status, jpeg = await eventually(lambda: _ok(http, second), timeout=20,
                                    what="the second instance to serve the thumbnail")
    assert _decoded(jpeg).width == W
    assert not second.registry.publishers  # the media is on the first one only


async def test_the_room_page_names_its_thumbnail_for_shared_links_while_live(media_server, http,
                                                                            peers):
    srv = await media_server()
    async with http.get(f"{srv.base_url}/rooms/{ROOM}") as page:
        assert 'property="og:image"' not in await page.text()
    await publish(srv, http, peers, obs=True)
    await eventually(lambda: _live_page(http, srv), timeout=15, what="the page to say live")
    html = await _live_page(http, srv)
    assert f'<meta property="og:image" content="{srv.base_url}/rooms/{ROOM}/thumbnail.jpg">' \
        in html
    assert '<meta property="og:title" content="Thailand live">' in html


async def _live_page(http: aiohttp.ClientSession, srv) -> str | None:
    async with http.get(f"{srv.base_url}/rooms/{ROOM}") as page:
        html = await page.text()
    return html if 'data-live="true"' in html else None
