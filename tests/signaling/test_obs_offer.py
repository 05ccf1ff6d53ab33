"""OBS Studio's WHIP output, as its offer looks on the wire (fixtures/: libdatachannel's SDP
as OBS 30.0/30.1 sends it, candidates included, and as OBS 30.2 and 31 send it, gathering
deferred until the answer): ICE credentials, fingerprint and setup at session level, audio
first (mid 0, Opus 111), video second (mid 1, H.264 96 declared 42e01f), SSRCs signalled, no
header extensions, a=group:LS.

OBS itself cannot run here. Each fixture is posted as it is, and then with the credentials,
fingerprint, SSRCs (and candidates) of a real peer that sends what OBS sends (H.264 Main
declared constrained baseline, keyframes it chooses itself, Opus), so the answer the fixture
gets can be shown to carry media to a player."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

from ..helpers import eventually, token
from .clients import (
    Watcher,
    answer,
    connected,
    local_offer,
    obs_audio,
    obs_video,
    post_sdp,
    prefer,
    viewer_pc,
)

ROOM = "thailand"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
VERSIONS = ["obs-30", "obs-31"]


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.sdp").read_bytes().decode()


def sections(sdp: str) -> list[str]:
    return re.split(r"(?=^m=)", sdp, flags=re.M)


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_obs_offer_is_accepted_and_answered(media_server, http, version):
    srv = await media_server()
    response = await post_sdp(http, f"{srv.base_url}/whip/rooms/{ROOM}", fixture(version),
                              token(ROOM, "host"))
    assert response.status == 201, await response.text()
    sdp = await response.text()
    _session, audio, video = sections(sdp)
    assert audio.startswith("m=audio ") and audio.splitlines()[0].endswith(" 111")
    assert "a=mid:0" in audio and "a=rtpmap:111 opus/48000/2" in audio
    assert video.startswith("m=video ") and video.splitlines()[0].endswith(" 96")
    assert "a=mid:1" in video and "a=rtpmap:96 H264/90000" in video
    assert "profile-level-id=42e01f" in video and "packetization-mode=1" in video
    assert {line for line in sdp.splitlines() if line.startswith("a=setup:")} == {
        "a=setup:passive"}  # OBS offers actpass; as DTLS server the server serves any key
    assert "a=candidate:" in sdp  # OBS 31 sends none and waits for the server's


def obs_peer() -> RTCPeerConnection:
    """A peer sending what OBS sends, in OBS's order: audio, then video."""
    pc = RTCPeerConnection()
    prefer(pc.addTransceiver(obs_audio(), direction="sendonly"), "audio/opus")
    prefer(pc.addTransceiver(obs_video(), direction="sendonly"), "video/H264", "42e01f")
    return pc


def as_obs(version: str, own: str) -> str:
    """The OBS fixture carrying this peer's credentials, fingerprint, SSRCs and candidates."""
    mine = {key: re.search(pattern, own, re.M).group(1) for key, pattern in {
        "ufrag": r"^a=ice-ufrag:(\S+)", "pwd": r"^a=ice-pwd:(\S+)",
        "fingerprint": r"^a=fingerprint:sha-256 (\S+)"}.items()}
    text = fixture(version)
    for key, pattern in {"ufrag": r"(?<=^a=ice-ufrag:)\S+", "pwd": r"(?<=^a=ice-pwd:)\S+",
                         "fingerprint": r"(?<=^a=fingerprint:sha-256 )\S+"}.items():
        text = re.sub(pattern, mine[key], text, flags=re.M)
    head, *media = sections(text)
    _own_head, *own_media = sections(own)
    out = [head]
    for theirs, ours in zip(media, own_media):
        ssrc = re.search(r"^a=ssrc:(\d+) ", ours, re.M).group(1)
        theirs = re.sub(r"(?<=^a=ssrc:)\d+", ssrc, theirs, flags=re.M)
        if "a=candidate:" in theirs:  # OBS 30: its candidates are in the offer
            candidates = [line for line in ours.splitlines() if line.startswith("a=candidate:")]
            theirs = "".join(line + "\r\n" for line in theirs.splitlines()
                             if not line.startswith("a=candidate:"))
            theirs = theirs.replace("a=end-of-candidates\r\n",
                                    "".join(c + "\r\n" for c in candidates)
                                    + "a=end-of-candidates\r\n")
        out.append(theirs)
    return "".join(out)


@pytest.mark.parametrize("version", VERSIONS)
async def test_media_sent_under_the_obs_offer_is_forwarded(media_server, http, peers, version):
    srv = await media_server()
    obs = peers(obs_peer())
    offer = as_obs(version, await local_offer(obs))
    response = await post_sdp(http, f"{srv.base_url}/whip/rooms/{ROOM}", offer,
                              token(ROOM, "host"))
    await answer(obs, response)
    await connected(obs)
    player = peers(viewer_pc())
    await answer(player, await post_sdp(http, f"{srv.base_url}/whep/rooms/{ROOM}",
                                        await local_offer(player)))
    watcher = Watcher(player)
    await eventually(lambda: watcher.counts_up(20), timeout=15, what="OBS's pictures")
    watcher.stop()
    publisher = srv.registry.publishers[(ROOM, "host")]
    assert publisher.sources["audio"].frames_in > 0  # and its sound
