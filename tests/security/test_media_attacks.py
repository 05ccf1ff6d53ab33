"""Attacks on live video by people who need no token: a guest may watch a public room, so
whatever a WHEP player or a channel guest can send, anyone can.

Each test is one attack, run against a real server with real aiortc peers; it failed before
the defence it names existed."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from liveroom.client import CommandError, RoomClient
from signaling import aiortc_forwarding
from signaling.keys import REGISTRY
from signaling.trickle import (
    MAX_PER_REQUEST,
    MAX_PER_SESSION,
    TRICKLE_BURST,
    TRICKLES_PER_SECOND,
)

from ..helpers import eventually, token
from ..signaling.clients import (
    answer,
    connected,
    local_offer,
    post_sdp,
    publisher_pc,
    strip_candidates,
    viewer_pc,
)

ROOM = "thailand"
SDPFRAG = {"Content-Type": "application/trickle-ice-sdpfrag"}


@pytest.fixture
def engine_kind():
    return "memory"  # media limits live in the instance, not the engine


@pytest.fixture
async def media_server(server):
    async def start(**overrides):
        srv = await server(**{"ice_addresses": ("127.0.0.1",), **overrides})
        srv.registry = srv.app[REGISTRY]
        return srv

    return start


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def peers():
    opened = []
    yield lambda pc: opened.append(pc) or pc
    for pc in opened:
        await pc.close()


async def go_live(srv, http, peers, user: str = "siam") -> None:
    """A host publishing over WHIP, connected: the room is on the air."""
    pc = peers(publisher_pc())
    response = await post_sdp(http, f"{srv.base_url}/whip/rooms/{ROOM}", await local_offer(pc),
                              token(ROOM, "host", user=user))
    await answer(pc, response)
    await connected(pc)


async def guest_player(srv, http, peers, offer: str | None = None) -> aiohttp.ClientResponse:
    """A tokenless WHEP request; the offer's peer never follows up unless the test does."""
    if offer is None:
        offer = strip_candidates(await local_offer(peers(viewer_pc())))
    return await post_sdp(http, f"{srv.base_url}/whep/rooms/{ROOM}", offer)


async def error_of(response: aiohttp.ClientResponse) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


def candidate_lines(count: int, host: str = "127.0.0.1", first_port: int = 20000) -> list[str]:
    return [f"a=candidate:{n} 1 udp {2000000000 - n} {host} {first_port + n} typ host"
            for n in range(count)]


def remote_candidates(srv, session_id: str) -> int:
    pc = srv.registry.sessions[session_id].pc
    ice = pc.getTransceivers()[0].receiver.transport.transport
    return len(ice.getRemoteCandidates())


# --- one request must not freeze the server -----------------------------------------------------
async def test_a_guest_patch_with_thousands_of_candidates_is_refused_whole(media_server, http,
                                                                          peers):
    srv = await media_server()
    await go_live(srv, http, peers)
    player = await guest_player(srv, http, peers)
    assert player.status == 201
    url = srv.base_url + player.headers["Location"]
    session = player.headers["Location"].rsplit("/", 1)[1]

    flood = "\r\n".join(["a=mid:0", *candidate_lines(2000)]) + "\r\n"  # ~120 KB
    async with http.patch(url, data=flood, headers=SDPFRAG) as refused:
        assert await error_of(refused) == (400, "too_many_candidates")
        assert (await refused.json())["error"]["limit"] == MAX_PER_REQUEST
    assert remote_candidates(srv, session) == 0  # nothing of it was applied

    # A session's whole life is bounded too, however the candidates are spread over requests.
    port = 30000
    for _ in range(MAX_PER_SESSION // MAX_PER_REQUEST):
        batch = "\r\n".join(["a=mid:0", *candidate_lines(MAX_PER_REQUEST, first_port=port)])
        port += MAX_PER_REQUEST
        async with http.patch(url, data=batch + "\r\n", headers=SDPFRAG) as accepted:
            assert accepted.status == 204, await accepted.text()
    one_more = "a=mid:0\r\n" + candidate_lines(1, first_port=port)[0] + "\r\n"
    async with http.patch(url, data=one_more, headers=SDPFRAG) as refused:
        assert await error_of(refused) == (400, "too_many_candidates")
    assert remote_candidates(srv, session) == MAX_PER_SESSION

    async with http.get(f"{srv.base_url}/healthz") as health:
        assert health.status == 200


async def test_a_guest_cannot_hammer_a_session_with_patches(media_server, http, peers):
    srv = await media_server()
    await go_live(srv, http, peers)
    player = await guest_player(srv, http, peers)
    url = srv.base_url + player.headers["Location"]

    async def trickle() -> int:  # an empty trickle: nothing to add, and still work to do
        async with http.patch(url, data="a=mid:0\r\n", headers=SDPFRAG) as response:
            if response.status == 429:
                body = (await response.json())["error"]
                assert body["code"] == "rate_limited" and body["retry_after_ms"] > 0
            return response.status

    started = time.monotonic()
    statuses = await asyncio.gather(*(trickle() for _ in range(120)))
    elapsed = time.monotonic() - started
    assert set(statuses) == {204, 429}
    assert statuses.count(204) <= TRICKLE_BURST + TRICKLES_PER_SECOND * elapsed + 1


async def test_channel_candidates_from_a_guest_are_capped_the_same_way(media_server, http, peers):
    srv = await media_server(commands_per_second=1000)  # the channel's own limit aside
    await go_live(srv, http, peers)
    async with RoomClient(srv.base_url, ROOM) as guest:
        pc = peers(viewer_pc())
        ack = await guest.command("media.subscribe", offer=await local_offer(pc))
        accepted, refused = 0, set()
        for line in candidate_lines(MAX_PER_SESSION + 40):
            try:
                await guest.command("media.candidate", session=ack["session"],
                                    candidate={"candidate": line[2:], "sdpMid": "0"})
                accepted += 1
            except CommandError as error:
                refused.add(error.code)
        assert accepted <= MAX_PER_SESSION and refused <= {"rate_limited", "too_many_candidates"}
        assert remote_candidates(srv, ack["session"]) <= MAX_PER_SESSION


# --- anonymous players must not keep the host off the air ---------------------------------------
async def test_guests_from_one_address_cannot_fill_the_server(media_server, http, peers):
    srv = await media_server(max_peers=8, publisher_peers=2, guest_peers_per_address=3)
    await go_live(srv, http, peers)
    for _ in range(3):
        assert (await guest_player(srv, http, peers)).status == 201
    refused = await guest_player(srv, http, peers)
    assert await error_of(refused) == (429, "too_many_sessions")
    assert (await refused.json())["error"]["scope"] == "address"


async def test_a_crowd_of_players_cannot_take_the_publishers_places(media_server, http, peers):
    srv = await media_server(max_peers=8, publisher_peers=2, guest_peers_per_address=0)
    await go_live(srv, http, peers)  # 1 peer
    for _ in range(6):  # the players' share: 8 places, 2 kept for publishers
        assert (await guest_player(srv, http, peers)).status == 201
    assert await error_of(await guest_player(srv, http, peers)) == (503, "media_busy")
    cohost = peers(publisher_pc())
    response = await post_sdp(http, f"{srv.base_url}/whip/rooms/{ROOM}",
                              await local_offer(cohost), token(ROOM, "cohost", user="chef"))
    await answer(cohost, response)  # the co-host still goes on the air
    await connected(cohost)


async def test_one_rooms_guests_are_capped(media_server, http, peers):
    srv = await media_server(guest_peers_per_address=0, guest_peers_per_room=2)
    await go_live(srv, http, peers)
    for _ in range(2):
        assert (await guest_player(srv, http, peers)).status == 201
    refused = await guest_player(srv, http, peers)
    assert await error_of(refused) == (503, "media_busy")
    assert (await refused.json())["error"]["scope"] == "room"
    viewer = await post_sdp(http, f"{srv.base_url}/whep/rooms/{ROOM}",
                            await local_offer(peers(viewer_pc())), token(ROOM, "viewer"))
    assert viewer.status == 201  # a signed-in viewer is not a guest


async def test_offers_nobody_follows_up_are_dropped_in_seconds(media_server, http, peers):
    srv = await media_server()  # the defaults: dropped after 5 s without an ICE check
    await go_live(srv, http, peers)
    for _ in range(3):
        assert (await guest_player(srv, http, peers)).status == 201
    assert len(srv.registry.viewers[(ROOM, "host")]) == 3
    # The players never apply their answers, so no ICE check ever reaches the server; before,
    # each held its place for LIVEROOM_ICE_TIMEOUT (15 s).
    await eventually(lambda: not srv.registry.viewers, timeout=11,
                     what="the silent players to be dropped")


# --- the server must not probe networks for a guest ---------------------------------------------
class Listener(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr) -> None:
        self.datagrams.append(data)


async def listen(host: str) -> tuple[Listener, int, asyncio.DatagramTransport]:
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Listener, local_addr=(host, 0))
    return protocol, transport.get_extra_info("sockname")[1], transport


def machine_address() -> str:
    """An IPv4 address of this machine that is not loopback (where libnice-like clients and a
    deployed server live)."""
    aiortc_forwarding.restrict_host_addresses([])
    found = [a for a in aiortc_forwarding.host_addresses() if ":" not in a]
    assert found, "the tests need a non-loopback IPv4 address on this machine"
    return found[0]


@pytest.mark.parametrize("via", ["offer", "patch"])
async def test_guest_candidates_cannot_aim_server_checks_at_its_loopback(media_server, http,
                                                                        peers, via):
    own = machine_address()
    srv = await media_server(ice_addresses=(own,), ice_start_timeout=60)
    await go_live(srv, http, peers)
    probe, probe_port, t1 = await listen("127.0.0.1")  # a service on the server's loopback
    control, control_port, t2 = await listen(own)  # a peer on the server's own network
    try:
        # The probe first, at the highest priority: checked first if it is kept at all.
        lines = [f"a=candidate:1 1 udp 2130706431 127.0.0.1 {probe_port} typ host",
                 f"a=candidate:2 1 udp 1000 {own} {control_port} typ host"]
        offer = strip_candidates(await local_offer(peers(viewer_pc())))
        if via == "offer":
            offer = offer.replace("a=mid:0\r\n", "a=mid:0\r\n" + "\r\n".join(lines) + "\r\n", 1)
        player = await guest_player(srv, http, peers, offer)
        assert player.status == 201, await player.text()
        if via == "patch":
            url = srv.base_url + player.headers["Location"]
            fragment = "a=mid:0\r\n" + "\r\n".join(lines) + "\r\n"
            async with http.patch(url, data=fragment, headers=SDPFRAG) as response:
                assert response.status == 204
        # Checks reach the allowed peer (and are retried: it never answers) ...
        await eventually(lambda: len(control.datagrams) >= 2, timeout=15,
                         what="the server's checks to the allowed candidate")
        # ... and never the loopback service, which would have been checked before it.
        assert probe.datagrams == []
    finally:
        t1.close()
        t2.close()
