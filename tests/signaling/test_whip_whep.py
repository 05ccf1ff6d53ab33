"""WHIP in, WHEP out, through the relay: real aiortc peers on loopback, viewers that decode what
they receive and read the publisher's pattern off every picture."""

from __future__ import annotations

import time

import pytest

from liveroom.client import RoomClient

from ..helpers import eventually, public_id, token
from .clients import (
    Watcher,
    answer,
    connected,
    local_offer,
    post_sdp,
    publisher_pc,
    strip_candidates,
    viewer_pc,
)

ROOM = "thailand"


def whip(srv) -> str:
    return f"{srv.base_url}/whip/rooms/{ROOM}"


def whep(srv) -> str:
    return f"{srv.base_url}/whep/rooms/{ROOM}"


def host_token(user: str = "siam") -> str:
    return token(ROOM, "host", user=user)


async def publish(srv, http, peers, **kwargs):
    pc = peers(publisher_pc(**kwargs))
    offer = await local_offer(pc)
    if kwargs.get("obs"):
        offer = strip_candidates(offer)
    response = await post_sdp(http, whip(srv), offer, host_token())
    await answer(pc, response)
    return pc, response


async def watch(srv, http, peers, **kwargs) -> Watcher:
    pc = peers(viewer_pc())
    response = await post_sdp(http, whep(srv), await local_offer(pc), **kwargs)
    await answer(pc, response)
    return Watcher(pc)


async def _lobby_live(http, srv) -> bool:
    async with http.get(f"{srv.base_url}/api/rooms") as response:
        rooms = (await response.json())["rooms"]
    return next(r for r in rooms if r["id"] == ROOM)["live"]


async def test_a_whip_host_reaches_whep_viewers_forwarded_not_transcoded(media_server, http,
                                                                         peers):
    srv = await media_server()
    async with RoomClient(srv.base_url, ROOM) as room:
        assert room.snapshot["media"] == {"live": False, "publishers": {}}
        pub, response = await publish(srv, http, peers)
        location = response.headers["Location"]
        assert location.startswith(f"/whip/rooms/{ROOM}/sessions/")
        assert response.headers["ETag"].startswith('"')
        live = await room.next_event("media.live")
        assert live["slot"] == "host" and live["publisher"]["video"] == "VP8"
        assert live["publisher"]["audio"] == "opus" and live["publisher"]["source"] == "whip"
        viewers = [await watch(srv, http, peers) for _ in range(3)]
        for viewer in viewers:
            await eventually(lambda v=viewer: v.counts_up(30), timeout=15,
                             what="30 pattern frames in order")
        assert await _lobby_live(http, srv)
        # Forwarded: the server never decoded (the tapped receivers' tracks got no frame).
        publisher = next(iter(srv.registry.publishers.values()))
        assert publisher.sources["video"].frames_in > 30
        assert all(t.receiver.track._queue.qsize() == 0 for t in publisher.pc.getTransceivers())
        async with http.delete(srv.base_url + location,
                               headers={"Authorization": f"Bearer {host_token()}"}) as gone:
            assert gone.status == 200
        offline = await room.next_event("media.offline")
        assert offline == {"type": "media.offline", "seq": offline["seq"], "slot": "host",
                           "session": live["publisher"]["session"], "reason": "stopped"}
        assert not await _lobby_live(http, srv)
    for viewer in viewers:
        viewer.stop()


async def test_an_obs_like_client_is_relayed_and_late_viewers_start_at_once(media_server, http,
                                                                            peers):
    """OBS: an offer without candidates, H.264 declared 42e01f but Main profile in fact, Opus,
    and keyframe requests ignored (pre-encoded, a keyframe every 32 frames)."""
    srv = await media_server()
    pub, response = await publish(srv, http, peers, obs=True)  # its offer has no candidates
    await connected(pub)
    publisher = next(iter(srv.registry.publishers.values()))
    assert publisher.codecs["video"].mime == "video/H264"
    await eventually(lambda: len(publisher.sources["video"].gop) > 5, what="a keyframe group")
    times = []
    for _ in range(3):  # late joiners: the cached group starts them without a keyframe request
        viewer = await watch(srv, http, peers)
        await eventually(lambda v=viewer: v.counts_up(20), timeout=10, what="20 frames")
        times.append(viewer.first_frame_after)
        viewer.stop()
    assert max(times) < 1.0, times


async def test_video_resumes_by_itself_when_the_host_comes_back(media_server, http, peers):
    srv = await media_server()
    pub, response = await publish(srv, http, peers)
    viewer = await watch(srv, http, peers)
    await eventually(lambda: viewer.counts_up(10), timeout=15, what="frames")
    await pub.close()  # the host leaves (closes the connection)
    await eventually(lambda: not srv.registry.publishers, what="the publisher to be gone")
    seen = len(viewer.valid())
    await publish(srv, http, peers)  # and comes back, on a new session
    await eventually(lambda: len(viewer.valid()) > seen + 30 and viewer.counts_up(10),
                     timeout=15, what="frames of the new session on the same viewer")
    viewer.stop()


async def test_trickled_candidates_connect_an_offer_that_had_none(media_server, http, peers):
    srv = await media_server()
    pc = peers(publisher_pc())
    offer = await local_offer(pc)
    response = await post_sdp(http, whip(srv), strip_candidates(offer), host_token())
    await answer(pc, response)
    url, etag = srv.base_url + response.headers["Location"], response.headers["ETag"]
    auth = {"Authorization": f"Bearer {host_token()}"}
    lines = [line for line in offer.splitlines() if line.startswith("a=candidate:")]
    ufrag = next(line for line in offer.splitlines() if line.startswith("a=ice-ufrag:"))
    fragment = "\r\n".join([ufrag, "a=mid:0", *lines, "a=end-of-candidates"]) + "\r\n"
    sdpfrag = {"Content-Type": "application/trickle-ice-sdpfrag", **auth}
    async with http.patch(url, data=fragment, headers={**sdpfrag, "If-Match": '"stale"'}) as r:
        assert r.status == 412 and (await r.json())["error"]["code"] == "precondition_failed"
    restart = fragment.replace(ufrag, "a=ice-ufrag:newufrag")
    async with http.patch(url, data=restart, headers={**sdpfrag, "If-Match": "*"}) as r:
        assert r.status == 422 and (await r.json())["error"]["code"] == "ice_restart_unsupported"
    async with http.patch(url, data=fragment, headers={**auth, "If-Match": etag}) as r:
        assert r.status == 415 and (await r.json())["error"]["code"] == "unsupported_media_type"
    async with http.patch(url, data=fragment, headers={**sdpfrag, "If-Match": etag}) as r:
        assert r.status == 204, await r.text()
    await connected(pc)


async def test_a_cohost_publishes_beside_the_host_and_viewers_pick_the_slot(media_server, http,
                                                                           peers):
    srv = await media_server()
    await publish(srv, http, peers)
    cohost = peers(publisher_pc(audio=False))
    response = await post_sdp(http, whip(srv), await local_offer(cohost),
                              token(ROOM, "cohost", user="guest-chef"))
    await answer(cohost, response)
    await eventually(lambda: _live_slots(srv), what="both slots live")
    viewer = peers(viewer_pc())
    response = await post_sdp(http, whep(srv) + "?slot=cohost", await local_offer(viewer))
    await answer(viewer, response)
    watcher = Watcher(viewer)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="the co-host's frames")
    watcher.stop()
    state = await srv.app_engine.media.state(ROOM)
    assert sorted(state["publishers"]) == ["cohost", "host"]
    assert state["publishers"]["cohost"]["user_id"] == public_id(ROOM, "guest-chef")


async def _live_slots(srv) -> bool:
    state = await srv.app_engine.media.state(ROOM)
    return sorted(state["publishers"]) == ["cohost", "host"]


async def test_ice_servers_and_turn_credentials_come_as_link_headers(media_server, http, peers):
    srv = await media_server(ice_servers=("stun:stun.example.net:3478",
                                          "turn:turn.example.net:3478?transport=udp"),
                             turn_secret="coturn-static-auth-secret", turn_ttl=600)
    pc = peers(publisher_pc())
    offer = await local_offer(pc)
    # The server's own gathering must not wait on the unreachable STUN server for this test.
    srv.registry.configuration.iceServers = []
    response = await post_sdp(http, whip(srv), offer, host_token())
    assert response.status == 201, await response.text()
    links = response.headers.getall("Link")
    assert links[0] == '<stun:stun.example.net:3478>; rel="ice-server"'
    assert links[1].startswith('<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; '
                               'username="')
    username = links[1].split('username="')[1].split('"')[0]
    expiry, user = username.split(":")
    assert user == "siam" and 590 < int(expiry) - time.time() <= 600
    assert 'credential-type="password"' in links[1]


async def test_shutdown_closes_every_peer_connection(media_server, http, peers):
    srv = await media_server()
    pub, _response = await publish(srv, http, peers)
    viewer = await watch(srv, http, peers)
    await eventually(lambda: viewer.counts_up(5), timeout=15, what="frames")
    server_pcs = [s.pc for s in srv.registry.sessions.values()]
    assert len(server_pcs) == 2
    registry = srv.registry
    await srv.close()
    assert registry.sessions == {} and registry.publishers == {}
    assert all(pc.connectionState == "closed" for pc in server_pcs)
    await eventually(lambda: pub.connectionState == "closed", what="the host to see the end")
    viewer.stop()


async def test_a_deleted_room_takes_its_peer_connections_with_it(media_server, http, peers):
    srv = await media_server(heartbeat_interval=0.5, presence_ttl=1.5)
    await publish(srv, http, peers)
    viewer = await watch(srv, http, peers)
    await eventually(lambda: viewer.counts_up(5), timeout=15, what="frames")
    await srv.app_engine.store.delete_room(ROOM)
    await eventually(lambda: not srv.registry.sessions, timeout=5, what="no sessions left")
    viewer.stop()


@pytest.mark.parametrize("engine_kind", ["redis"])
async def test_the_relay_works_the_same_on_the_redis_engine(media_server, http, peers):
    srv = await media_server()
    await publish(srv, http, peers)
    viewer = await watch(srv, http, peers)
    await eventually(lambda: viewer.counts_up(15), timeout=15, what="frames")
    assert await _lobby_live(http, srv)
    viewer.stop()


async def test_transcoding_mode_still_plays_for_the_benchmark_comparison(media_server, http,
                                                                         peers):
    srv = await media_server(media_transcode=True)
    await publish(srv, http, peers, audio=False)
    await eventually(lambda: srv.registry.publishers and next(
        iter(srv.registry.publishers.values())).decoded, what="the decoded track")
    viewer = await watch(srv, http, peers)
    await eventually(lambda: len(viewer.valid()) > 10, timeout=15, what="re-encoded frames")
    viewer.stop()
