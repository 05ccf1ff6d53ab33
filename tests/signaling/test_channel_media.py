"""Live video over the room channel: what the studio and the viewer page do."""

from __future__ import annotations

from aiortc import RTCSessionDescription

from liveroom.client import CommandError, RoomClient

from ..helpers import eventually, public_id, token
from .clients import (
    Watcher,
    connected,
    local_offer,
    publisher_pc,
    strip_candidates,
    viewer_pc,
)

ROOM = "thailand"


async def _answer(pc, ack) -> None:
    await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["answer"], type="answer"))


def _candidates(sdp: str) -> list[dict]:
    out, mid = [], None
    for line in sdp.splitlines():
        if line.startswith("a=mid:"):
            mid = line[6:]
        elif line.startswith("a=candidate:"):
            out.append({"candidate": line[2:], "sdpMid": mid, "sdpMLineIndex": None})
    return out


async def test_a_host_goes_live_on_the_channel_and_a_viewer_watches(media_server, peers):
    srv = await media_server(ice_servers=("stun:stun.example.net:3478",
                                          "turn:turn.example.net:3478"),
                             turn_secret="coturn-static-auth-secret")
    srv.registry.configuration.iceServers = []  # no STUN server to wait for on this network
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, "host", user="siam")) as host, \
            RoomClient(srv.base_url, ROOM) as viewer:
        config = await host.command("media.config")
        stun, turn = config["ice_servers"]
        assert stun == {"urls": ["stun:stun.example.net:3478"]}
        assert turn["urls"] == ["turn:turn.example.net:3478"]
        assert turn["username"].endswith(":siam") and turn["credential"]

        pub = peers(publisher_pc())
        offer = await local_offer(pub)
        ack = await host.command("media.publish", offer=strip_candidates(offer))
        await _answer(pub, ack)
        for candidate in _candidates(offer):  # trickled, as a browser does
            await host.command("media.candidate", session=ack["session"], candidate=candidate)
        await host.command("media.candidate", session=ack["session"], candidate=None)
        await connected(pub)
        live = await viewer.next_event("media.live")
        assert live["publisher"]["source"] == "browser"

        pc = peers(viewer_pc())
        watch = await viewer.command("media.subscribe", offer=await local_offer(pc))
        await _answer(pc, watch)
        watcher = Watcher(pc)
        await eventually(lambda: watcher.counts_up(20), timeout=15, what="frames")
        watcher.stop()

        async with RoomClient(srv.base_url, ROOM) as late:
            assert late.snapshot["media"]["live"] is True
            publisher = late.snapshot["media"]["publishers"]["host"]
            assert publisher["user_id"] == public_id(ROOM, "siam")

        await host.command("media.stop", session=ack["session"])
        offline = await viewer.next_event("media.offline")
        assert offline["reason"] == "stopped"
        await viewer.command("media.stop", session=watch["session"])
        assert srv.registry.sessions == {}


async def test_channel_refusals_are_precise(media_server, peers):
    srv = await media_server()
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user="ann")) as viewer, \
            RoomClient(srv.base_url, ROOM, token=token(ROOM, "host", user="siam")) as host:
        offer = await local_offer(peers(publisher_pc()))
        cases = [
            (viewer, "media.publish", {"offer": offer}, "forbidden"),
            (host, "media.publish", {"offer": "v=1 nonsense"}, "invalid_sdp"),
            (host, "media.publish", {}, "invalid_field"),
            (viewer, "media.subscribe", {"offer": offer, "slot": "backstage"}, "invalid_field"),
            (viewer, "media.subscribe", {"offer": await local_offer(peers(viewer_pc()))},
             "not_live"),
            (viewer, "media.candidate", {"session": "x-1", "candidate": {"candidate": 7}},
             "invalid_field"),
            (viewer, "media.candidate", {"session": "x-1"}, "invalid_field"),
            (viewer, "media.stop", {"session": "nowhere-1"}, "session_not_found"),
        ]
        for client, cmd, fields, code in cases:
            try:
                await client.command(cmd, **fields)
            except CommandError as error:
                assert error.code == code, (cmd, fields, error.frame)
            else:
                raise AssertionError(f"{cmd} {fields} was accepted")
        ack = await host.command("media.publish", offer=offer)
        try:
            await viewer.command("media.stop", session=ack["session"])
        except CommandError as error:
            assert error.code == "forbidden"
        else:
            raise AssertionError("a viewer stopped the host's session")
