"""The live stream as HLS: a WHIP host's H.264 remuxed into fMP4 segments, read back with
PyAV the way a player's demuxer would."""

from __future__ import annotations

from ..helpers import eventually
from ..signaling.clients import read_pattern
from .media import (
    ROOM,
    init_uri,
    live_segments,
    playlist,
    publish_h264,
    read_segment,
    uris,
)


async def test_a_live_h264_room_is_served_as_fmp4_segments_that_start_at_keyframes(
        media_server, http, peers):
    srv = await media_server()
    await publish_h264(srv, http, peers)
    text = await live_segments(http, srv, count=4)
    base = f"{srv.base_url}/hls/rooms/{ROOM}/"
    assert text.startswith("#EXTM3U\n#EXT-X-VERSION:7\n")
    assert "#EXT-X-ENDLIST" not in text
    durations = [float(line[8:].rstrip(",")) for line in text.splitlines()
                 if line.startswith("#EXTINF:")]
    assert all(0.4 < d < 2.5 for d in durations), durations  # ~1 s, cut at keyframes

    async with http.get(base + init_uri(text)) as response:
        assert response.status == 200
        assert "immutable" in response.headers["Cache-Control"]
        init = await response.read()
    last_end = -1.0
    patterns = []
    for uri in uris(text):
        async with http.get(base + uri) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            segment = read_segment(init, await response.read())
        assert segment["key_first"], uri
        assert segment["size"] == (320, 240)
        times = segment["times"]
        assert times == sorted(times) and times[0] > last_end, (uri, times, last_end)
        last_end = times[-1]
        assert len(segment["pictures"]) == len(times)  # every frame decodes
        assert segment["audio"] > 0  # Opus rides along
        patterns += [read_pattern(p) for p in segment["pictures"]]
    numbers = [n for n in patterns if n is not None]
    assert len(numbers) > 0.9 * len(patterns)  # the publisher's own pictures
    assert all(0 < (b - a) % 256 <= 8 for a, b in zip(numbers, numbers[1:]))


async def test_the_live_playlist_is_cacheable_for_about_half_a_segment(media_server, http,
                                                                        peers):
    srv = await media_server()
    await publish_h264(srv, http, peers)
    await live_segments(http, srv, count=1)
    status, _, headers = await playlist(http, f"{srv.base_url}/hls/rooms/{ROOM}/live.m3u8")
    assert status == 200
    assert headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    assert headers["Cache-Control"] == "public, max-age=1"


async def test_a_vp8_room_has_no_hls_and_says_why(media_server, http, peers):
    srv = await media_server()
    await publish_h264(srv, http, peers, video="VP8")
    await eventually(lambda: srv.registry.publishers.get((ROOM, "host")) is not None
                     and srv.registry.publishers[(ROOM, "host")].live, what="live")
    async with http.get(f"{srv.base_url}/hls/rooms/{ROOM}/live.m3u8") as response:
        assert response.status == 404
        error = (await response.json())["error"]
    assert error["code"] == "hls_unavailable"
    assert "VP8" in error["message"] and "H.264" in error["message"]
