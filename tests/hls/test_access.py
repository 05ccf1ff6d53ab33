"""Bad input and private rooms: what the HLS routes refuse, and how."""

from __future__ import annotations

import re

from ..conftest import demo_room
from ..helpers import bearer, token
from .media import ROOM, init_uri, live_segments, playlist, publish_h264, uris


async def _error(http, url: str, **kwargs) -> tuple[int, dict]:
    async with http.get(url, **kwargs) as response:
        return response.status, (await response.json())["error"]


async def test_names_that_are_not_ours_never_reach_the_disk(media_server, http, peers,
                                                             tmp_path):
    srv = await media_server()
    await publish_h264(srv, http, peers)
    text = await live_segments(http, srv, count=1)
    session = init_uri(text).split("/")[0]
    base = f"{srv.base_url}/hls/rooms/{ROOM}"
    for name in ("..%2F..%2Fmeta.json", "meta.json", "segments.tsv", "0.m4s.part",
                 "%2e%2e", "0.m4s%00", "init-0.mp4%2F..%2Fmeta.json"):
        status, error = await _error(http, f"{base}/{session}/{name}")
        assert (status, error["code"]) == (404, "not_found"), name
    for session_name in ("..", "%2e%2e", ".hidden", "a%2F..%2F.."):
        status, error = await _error(http, f"{base}/{session_name}/0.m4s")
        assert status == 404 and error["code"] in ("not_found",), session_name
    async with http.get(f"{base}/{session}/0.m4s") as response:
        assert response.status == 200  # the same route serves our own names


async def test_unknown_rooms_and_recordings_get_the_documented_errors(media_server, http):
    srv = await media_server()
    status, error = await _error(http, f"{srv.base_url}/hls/rooms/atlantis/live.m3u8")
    assert (status, error["code"]) == (404, "room_not_found")
    status, error = await _error(http, f"{srv.base_url}/hls/rooms/Bad..Name/live.m3u8")
    assert (status, error["code"]) == (404, "room_not_found")
    status, error = await _error(http, f"{srv.base_url}/hls/rooms/{ROOM}/live.m3u8")
    assert (status, error["code"]) == (404, "hls_unavailable")  # the room is not live
    status, error = await _error(
        http, f"{srv.base_url}/hls/rooms/{ROOM}/20260101T000000Z-abcdef/index.m3u8")
    assert (status, error["code"]) == (404, "replay_not_found")
    status, error = await _error(
        http, f"{srv.base_url}/api/rooms/{ROOM}/replays/20260101T000000Z-abcdef")
    assert (status, error["code"]) == (404, "replay_not_found")


async def test_a_private_rooms_hls_needs_a_token_and_its_segments_a_signature(
        media_server, http, peers):
    srv = await media_server()
    await srv.app_engine.store.create_room(demo_room("vault", public=False))
    await publish_h264(srv, http, peers, room="vault")
    url = f"{srv.base_url}/hls/rooms/vault/live.m3u8"

    status, error = await _error(http, url)
    assert (status, error["code"]) == (401, "unauthorized")
    viewer = token("vault", "viewer")
    text = await live_segments(http, srv, room="vault", count=1, headers=bearer(viewer))
    # A viewer with a token is sent to the playlist's signed URL, which a cache may keep.
    async with http.get(f"{url}?token={viewer}", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Cache-Control"] == "private, no-store"
        location = response.headers["Location"]
    assert re.fullmatch(r"/hls/rooms/vault/live\.m3u8\?exp=\d+&sig=[0-9a-f]{64}", location)
    status, same, headers = await playlist(http, srv.base_url + location)
    assert status == 200 and headers["Cache-Control"] == "public, max-age=1"
    assert viewer not in same  # the token never reaches the URLs a cache sees
    status, error = await _error(http, srv.base_url + re.sub(r"sig=[0-9a-f]{4}", "sig=0000",
                                                             location))
    assert (status, error["code"]) == (401, "unauthorized")  # a forged one is no way in

    base = f"{srv.base_url}/hls/rooms/vault/"
    signed = uris(text)[0]
    assert re.search(r"\?exp=\d+&sig=[0-9a-f]{64}$", signed), signed
    async with http.get(base + signed) as response:  # no token: the signature is enough
        assert response.status == 200
        assert "immutable" in response.headers["Cache-Control"]
    async with http.get(base + init_uri(text)) as response:
        assert response.status == 200
    bare = signed.split("?")[0]
    status, error = await _error(http, base + bare)
    assert (status, error["code"]) == (401, "unauthorized")
    forged = re.sub(r"sig=[0-9a-f]{4}", "sig=0000", signed)
    status, error = await _error(http, base + forged)
    assert (status, error["code"]) == (401, "unauthorized")
    expired = re.sub(r"exp=\d+", "exp=1000", signed)
    status, error = await _error(http, base + expired)
    assert (status, error["code"]) == (401, "unauthorized")
    # A signature for one room opens no other's files.
    status, error = await _error(http, f"{srv.base_url}/hls/rooms/{ROOM}/{signed}")
    assert status == 404
