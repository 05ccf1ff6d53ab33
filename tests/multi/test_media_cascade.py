"""A room's video cascades between instances: the publisher's instance (the origin) sends one
copy of the room's media to each other instance with viewers (a relay leg), which serves its
viewers itself. Real `liveroom serve` processes on a real Redis, real aiortc peers."""

from __future__ import annotations

import aiohttp
import pytest
from aiortc import RTCSessionDescription

from liveroom.client import RoomClient
from signaling import leg_auth, leg_wire
from signaling.relay import is_keyframe

from ..helpers import SECRET, create_room, eventually, token
from ..signaling.clients import Watcher, answer, local_offer, post_sdp, viewer_pc
from .cascade import (
    LOOPBACK,
    ROOM,
    instance_id,
    live,
    live_origin,
    metrics,
    open_leg,
    play,
    publish,
    sample,
    session_instance,
    stop,
)

pytestmark = [pytest.mark.multi, pytest.mark.usefixtures("loopback_peers")]


async def test_viewers_on_other_instances_play_from_one_leg_each(shared_redis, start_servers,
                                                                 peers):
    a, b, c = start_servers(shared_redis, n=3, extra_env=LOOPBACK)
    await create_room(a.url)
    await publish(a.url, peers)
    for server in (b, c):
        await eventually(lambda: live(server.url), timeout=10, what="the room live everywhere")
    ids = {server.url: await instance_id(server.url) for server in (a, b, c)}

    # Three players on B (WHEP), one on C over the room channel and one over WHEP.
    on_b = [await play(b.url, peers) for _ in range(3)]
    whep_c = await play(c.url, peers)
    async with RoomClient(c.url, ROOM, token=token(ROOM, user="ann")) as room:
        pc = viewer_pc()
        peers(pc)
        ack = await room.command("media.subscribe", offer=await local_offer(pc))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["answer"], type="answer"))
        channel_c = Watcher(pc)
        # Every player decodes real pictures of the stream, in order.
        for watcher, _ in [*on_b, whep_c]:
            await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames on B/C")
        await eventually(lambda: channel_c.counts_up(10), timeout=15, what="channel frames")
        # Each instance holds its own players: signaling stayed where it landed.
        assert {session_instance(url) for _, url in on_b} == {ids[b.url]}
        assert session_instance(whep_c[1]) == ids[c.url]
        assert ack["session"].rsplit("-", 1)[0] == ids[c.url]

        at_a, at_b, at_c = [await metrics(s.url) for s in (a, b, c)]
        # The origin sends one leg to each other instance, however many players it has.
        assert sample(at_a, "liveroom_media_legs", room=ROOM, direction="out") == 2
        assert sample(at_b, "liveroom_media_legs", room=ROOM, direction="in") == 1
        assert sample(at_c, "liveroom_media_legs", room=ROOM, direction="in") == 1
        assert sample(at_a, "liveroom_peer_connections", kind="viewer") == 0
        assert sample(at_a, "liveroom_peer_connections", kind="publisher") == 1
        assert sample(at_b, "liveroom_peer_connections", kind="viewer") == 3
        assert sample(at_c, "liveroom_peer_connections", kind="viewer") == 2
        assert sample(at_b, "liveroom_media_viewers", room=ROOM) == 3
        for samples in (at_a, at_b, at_c):
            assert sample(samples, "liveroom_media_origin", room=ROOM, origin=ids[a.url]) == 1
        assert sample(at_a, "liveroom_media_frames_forwarded_total", room=ROOM,
                      path="leg") > 0
        assert sample(at_b, "liveroom_media_frames_forwarded_total", room=ROOM,
                      path="viewer") > 0
        assert sample(at_b, "liveroom_media_frames_relayed_total") > 0
        assert ("liveroom_media_leg_delay_seconds", (("room", ROOM),)) in at_b
        assert 0 <= sample(at_b, "liveroom_media_leg_delay_seconds", room=ROOM) < 1.0
        for watcher, _ in on_b:
            watcher.stop()
        whep_c[0].stop()
        channel_c.stop()
        await room.command("media.stop", session=ack["session"])

    # B's last player leaves: its leg closes a moment later (LIVEROOM_LEG_LINGER=1); C's
    # stays while C has a player.
    for _, url in on_b:
        await stop(url)

    async def legs_out() -> float:
        return sample(await metrics(a.url), "liveroom_media_legs", room=ROOM, direction="out")

    await eventually(lambda: _equals(legs_out, 1), timeout=10, what="B's leg to close")


async def _equals(read, expected) -> bool:
    return await read() == expected


async def test_a_leg_is_refused_to_anyone_without_the_instances_secret(shared_redis,
                                                                       start_servers, peers):
    a = await live_origin(start_servers, shared_redis, peers)
    url = f"{a.url}/internal/media/legs/{ROOM}"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:  # no credentials at all
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "unauthorized"
        for header in (
            leg_auth.header("another deployment's secret, long enough", ROOM, "b0b0"),
            leg_auth.header(SECRET, "another-room", "b0b0"),  # signed for another room
            leg_auth.header(SECRET, ROOM, "b0b0", now=0),  # lapsed long ago
            f"Bearer {token(ROOM, 'admin')}",  # an access token is not a leg token
        ):
            async with http.get(url, headers={"Authorization": header}) as response:
                assert response.status in (401, 403), header
                assert response.status == 403 or header.startswith("Bearer")
        # The same request signed with the shared secret opens the leg, which says what the
        # room has: the host's video and audio.
        async with open_leg(http, a.url) as ws:
            tracks = await ws.receive_json(timeout=5)
            assert tracks["type"] == "tracks"
            assert sorted((t["slot"], t["kind"]) for t in tracks["tracks"]) == [
                ("host", "audio"), ("host", "video")]
            frame = await ws.receive_bytes(timeout=5)
            assert len(frame) > 20
        # Something it does not understand closes it with 4400 saying what, and the origin
        # goes on.
        for bad, why in (('{"type": "keyframe", "track": [1]}', "track must be a track id"),
                         ('{"type": "subscribe"}', "unknown message type"),
                         ("ack", "must be JSON")):
            async with open_leg(http, a.url) as ws:
                await ws.send_str(bad)
                while (message := await ws.receive(timeout=5)).type in (
                        aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                    pass
                assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4400
                assert why in message.extra
        viewer, _ = await play(a.url, peers)
        await eventually(lambda: viewer.counts_up(10), timeout=15, what="frames after it")
        viewer.stop()


async def test_a_codec_switch_closes_only_the_players_elsewhere_who_cannot_decode_it(
        shared_redis, start_servers, peers):
    a, b = start_servers(shared_redis, n=2, extra_env=LOOPBACK)
    await create_room(a.url)
    await publish(a.url, peers)  # VP8 and Opus
    await eventually(lambda: live(b.url), timeout=10, what="live on B")
    video_player, video_session = await play(b.url, peers)
    await eventually(lambda: video_player.counts_up(10), timeout=15, what="VP8 frames on B")
    listener = viewer_pc(video=False)  # audio only: Opus still decodes after the switch
    peers(listener)
    async with aiohttp.ClientSession() as http:
        response = await post_sdp(http, f"{b.url}/whep/rooms/{ROOM}",
                                  await local_offer(listener))
        await answer(listener, response)
        listener_session = b.url + response.headers["Location"]

    async def viewers_on_b() -> float:
        return sample(await metrics(b.url), "liveroom_peer_connections", kind="viewer")

    await eventually(lambda: _equals(viewers_on_b, 2), timeout=10, what="both players on B")
    # The host comes back with H.264 (same user: the new session replaces the old one).
    await publish(a.url, peers, video="H264")
    await eventually(lambda: _equals(viewers_on_b, 1), timeout=15, what="the VP8 player closed")
    async with aiohttp.ClientSession() as http:
        async with http.delete(video_session) as gone:
            assert gone.status == 404  # closed by the server (codec_changed)
    # The new codec reaches B over the leg: a new player there decodes H.264 pictures.
    h264_player, _ = await play(b.url, peers)
    await eventually(lambda: h264_player.counts_up(10), timeout=15, what="H.264 frames on B")
    h264_player.stop()
    video_player.stop()
    await stop(listener_session)  # the audio player was never closed


async def test_a_keyframe_request_travels_up_a_leg_to_the_publisher(shared_redis,
                                                                   start_servers, peers):
    """The publisher (aiortc's VP8 encoder) sends keyframes only when asked, or when the
    origin's keyframe cache passes 150 frames: a request sent over the leg while the cache is
    young is answered with a keyframe well before that."""
    a = await live_origin(start_servers, shared_redis, peers)
    async with aiohttp.ClientSession() as http:
        async with open_leg(http, a.url) as ws:
            tracks = (await ws.receive_json(timeout=5))["tracks"]
            video = next(t["id"] for t in tracks if t["kind"] == "video")
            received, since_key, asked_at = 0, None, None
            while True:
                track, key, _, _, _ = leg_wire.read_frame(await ws.receive_bytes(timeout=5))
                received += 1
                if received % 15 == 0:
                    await ws.send_json({"type": "ack", "frames": received})
                if track != video:
                    continue
                if key and asked_at is not None:
                    break  # the answer
                since_key = 0 if key else (None if since_key is None else since_key + 1)
                if asked_at is None and since_key == 30:  # a second into a young group
                    await ws.send_json({"type": "keyframe", "track": video})
                    asked_at = since_key
                elif asked_at is not None:
                    assert since_key is not None and since_key < 90, "no keyframe came"


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "as-before-batches"])
async def test_a_leg_carries_every_frame_intact_in_batches_or_one_per_message(
        shared_redis, start_servers, peers, batched):
    """A leg that reads batches (what instances offer now) gets the audio frames with the
    video frame after them: far fewer messages than frames. A leg from an instance that
    predates batches (no subprotocol: a rolling update) still gets one frame per message.
    Either way each video frame's keyframe flag agrees with its bytes and each track's
    timestamps only move forward."""
    a = await live_origin(start_servers, shared_redis, peers)
    async with aiohttp.ClientSession() as http:
        async with open_leg(http, a.url,
                            protocols=(leg_wire.BATCHED,) if batched else ()) as ws:
            assert ws.protocol == (leg_wire.BATCHED if batched else None)
            kinds = {t["id"]: t["kind"] for t in (await ws.receive_json(timeout=5))["tracks"]}
            read = leg_wire.reader(ws.protocol)
            messages, frames, last = 0, {"audio": 0, "video": 0}, {}
            while frames["video"] < 90:
                for track, key, ts, _sent_at, data in read(await ws.receive_bytes(timeout=5)):
                    frames[kinds[track]] += 1
                    if kinds[track] == "video":
                        assert key == is_keyframe("video/VP8", data)
                    assert ts > last.get(track, -1)
                    last[track] = ts
                messages += 1
                if messages % 15 == 0:
                    await ws.send_json({"type": "ack", "frames": sum(frames.values())})
    assert frames["audio"] > 90  # 50 a second
    if batched:
        assert messages < 0.75 * sum(frames.values())
    else:
        assert messages == sum(frames.values())


async def test_the_demo_host_of_one_instance_plays_on_the_others(shared_redis, start_servers,
                                                                 peers):
    """With --demo on every instance, one of them holds each room's demo host; players on the
    others get its test card over a leg, which also keeps it encoding."""
    servers = start_servers(shared_redis, n=2, extra_env=LOOPBACK, demo=True)
    for server in servers:
        await eventually(lambda: live(server.url), timeout=20, what="the demo host live")
    publishers = [sample(await metrics(s.url), "liveroom_media_origin", room=ROOM,
                         origin=await instance_id(s.url)) for s in servers]
    other = servers[publishers.index(0)]
    watcher, _ = await play(other.url, peers)
    # A test card, not the pattern: count decoded pictures of its size.
    await eventually(lambda: len(watcher.numbers) >= 30, timeout=15, what="test card frames")
    samples = await metrics(other.url)
    assert sample(samples, "liveroom_media_legs", room=ROOM, direction="in") == 1
    watcher.stop()


async def test_an_instance_with_another_secret_gets_no_leg(shared_redis, start_servers, peers):
    (a,) = start_servers(shared_redis, n=1, extra_env=LOOPBACK)
    (b,) = start_servers(shared_redis, n=1, extra_env={
        **LOOPBACK, "LIVEROOM_SECRET": "not the deployment's secret, though long enough"})
    await create_room(a.url)
    await publish(a.url, peers)
    await eventually(lambda: live(b.url), timeout=10, what="live on B")
    pc = viewer_pc()
    peers(pc)
    async with aiohttp.ClientSession() as http:  # a guest: a public room needs no token
        response = await post_sdp(http, f"{b.url}/whep/rooms/{ROOM}", await local_offer(pc))
        assert response.status == 503, await response.text()
        assert (await response.json())["error"]["code"] == "unavailable"
    assert sample(await metrics(a.url), "liveroom_media_legs", room=ROOM,
                  direction="out") == 0
    assert "every instance needs the same LIVEROOM_SECRET" in b.log.read_text()
