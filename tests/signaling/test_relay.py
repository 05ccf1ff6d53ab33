"""The relay's rules (signaling/relay.py), without a network: late joiners start at the latest
keyframe, slow viewers cannot grow memory, keyframe requests are throttled, timestamps only
move forward."""

from __future__ import annotations

import asyncio

from signaling.relay import (
    AUDIO_QUEUE_FRAMES,
    GOP_MAX_FRAMES,
    VIDEO_QUEUE_FRAMES,
    Codec,
    ForwardTrack,
    Source,
    is_keyframe,
)

VP8 = Codec("video", "video/VP8", 90000)
OPUS = Codec("audio", "audio/opus", 48000, 2)
KEY, DELTA = b"\x10vp8-key", b"\x11vp8-delta"  # VP8 frame tag: lowest bit 0 = key frame


def _drain(track: ForwardTrack):
    async def take():
        out = []
        while track.queued():
            out.append(await track.recv())
        return out

    return take()


async def test_keyframes_are_recognised_in_vp8_and_h264():
    assert is_keyframe("video/VP8", KEY) and not is_keyframe("video/VP8", DELTA)
    idr = b"\x00\x00\x00\x01\x67sps\x00\x00\x00\x01\x68pps\x00\x00\x01\x65slice"
    non_idr = b"\x00\x00\x00\x01\x41slice"
    assert is_keyframe("video/H264", idr) and not is_keyframe("video/H264", non_idr)
    assert is_keyframe("audio/opus", b"anything")


async def test_a_late_viewer_gets_the_latest_keyframe_group_at_once_then_live_frames():
    requests = []
    source = Source(VP8, request_keyframe=lambda: requests.append(1))
    for i, data in enumerate([KEY, DELTA, DELTA, KEY, DELTA, DELTA, DELTA]):
        source.push(data + bytes([i]), i * 3000)
    track = ForwardTrack(VP8)
    source.attach(track)
    source.push(DELTA + b"live", 7 * 3000)
    packets = await _drain(track)
    assert [bytes(p)[-1:] for p in packets[:4]] == [b"\x03", b"\x04", b"\x05", b"\x06"]
    assert bytes(packets[4]).endswith(b"live")
    stamps = [p.pts for p in packets]
    # The cached group is a millisecond (90 ticks) apart; the live frame follows 3000 later.
    assert stamps == [0, 90, 180, 270, 3270]
    assert requests == []  # a cached group needs no keyframe from the publisher


async def test_without_a_cached_group_a_viewer_waits_for_a_keyframe_and_asks_once_a_second():
    requests = []
    source = Source(VP8, request_keyframe=lambda: requests.append(1))
    source.push(DELTA, 0)  # no keyframe seen yet
    viewers = [ForwardTrack(VP8) for _ in range(5)]
    for track in viewers:
        source.attach(track)
    assert requests == [1]  # five viewers, one request
    source.push(DELTA, 3000)
    assert all(t.queued() == 0 for t in viewers)
    source.push(KEY, 6000)
    source.push(DELTA, 9000)
    assert all(t.queued() == 2 for t in viewers)


async def test_a_slow_viewer_drops_its_queue_and_skips_to_the_next_keyframe():
    source = Source(VP8, request_keyframe=lambda: None)
    slow, fast = ForwardTrack(VP8), ForwardTrack(VP8)
    source.push(KEY, 0)
    source.attach(slow)
    source.attach(fast)
    for i in range(1, VIDEO_QUEUE_FRAMES + 50):
        source.push(DELTA, i * 3000)
        await fast.recv()  # the fast viewer keeps up; the slow one reads nothing
    assert slow.queued() < VIDEO_QUEUE_FRAMES and slow.dropped >= VIDEO_QUEUE_FRAMES
    assert slow.queued() == 0  # skipping: deltas are not queued until a keyframe
    source.push(KEY, 10**6)
    assert slow.queued() == 1  # from the keyframe on
    # The cached group is bounded too: past its limit the source asks for a keyframe.
    assert len(source.gop) <= GOP_MAX_FRAMES


async def test_slow_audio_drops_its_oldest_second():
    source = Source(OPUS)
    track = ForwardTrack(OPUS)
    source.attach(track)
    for i in range(AUDIO_QUEUE_FRAMES * 3):
        source.push(b"opus", i * 960)
    assert track.queued() <= AUDIO_QUEUE_FRAMES


async def test_timestamps_move_forward_across_a_new_publisher():
    first = Source(VP8)
    track = ForwardTrack(VP8)
    first.push(KEY, 5_000_000)
    first.attach(track)
    first.push(DELTA, 5_003_000)
    before = [p.pts for p in await _drain(track)]
    first.end()
    assert track.source is None
    second = Source(VP8)  # a new publisher: its clock starts from 0 again
    second.push(KEY, 0)
    second.attach(track)
    second.push(DELTA, 3000)
    after = [p.pts for p in await _drain(track)]
    assert before == [0, 3000] and after[0] > before[-1] and after[1] - after[0] == 3000


async def test_a_stopped_track_wakes_its_reader_and_leaves_the_source():
    source = Source(VP8)
    source.push(KEY, 0)
    track = ForwardTrack(VP8)
    source.attach(track)
    await track.recv()
    reader = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    track.stop()
    try:
        await asyncio.wait_for(reader, 1)
    except Exception as exc:
        assert type(exc).__name__ == "MediaStreamError"
    assert track not in source.tracks
