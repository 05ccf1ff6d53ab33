"""Who may open one more peer connection on this instance.

Capacity is LIVEROOM_MAX_PEERS peer connections, and an audience must never be able to take
it from the hosts: so the last LIVEROOM_PUBLISHER_PEERS places are kept for publishers (the
demo host has no peer connection and takes none), and players take at most the rest. Guests,
who need no token and so cost an attacker nothing, are further held to
LIVEROOM_GUEST_PEERS_PER_ADDRESS players per client address and LIVEROOM_GUEST_PEERS_PER_ROOM
per room, so that neither one machine nor one room's crowd fills the places the others need.

    media_busy          (503)  the instance, or its players' share, is full (scope "instance"),
                               or the room has as many guest players as it takes ("room"),
                               or LIVEROOM_WEBRTC_VIEWERS_PER_INSTANCE players play here
                               already (scope "webrtc", with the room's "hls" playlist: the
                               page plays that instead)
    too_many_sessions   (429)  this address has as many guest players as it may (scope
                               "address")
"""

from __future__ import annotations

from collections.abc import Iterable

from liveroom.domain.errors import LiveroomError

from .config import MediaSettings
from .peers import Session


def _has_peer(session: Session) -> bool:
    return session.transport != "demo"


def admit(media: MediaSettings, session: Session, others: Iterable[Session]) -> None:
    """Raise unless `session` may join the `others` this instance holds."""
    peers = [s for s in others if _has_peer(s) and not s.closed]
    if len(peers) >= media.max_peers:
        raise LiveroomError("media_busy", "this server has as many peer connections as it "
                            "takes; try again later", scope="instance")
    if session.role == "publish":
        return
    players = [s for s in peers if s.role == "play"]
    cap = media.webrtc_viewers_per_instance
    if cap and len(players) >= cap:
        # The operator's WebRTC budget, below the peer capacity: the rest of the audience
        # plays the room's HLS (the page switches to it on this answer).
        raise LiveroomError("media_busy", "this server's WebRTC places are taken; play the "
                            "room's HLS", scope="webrtc", limit=cap,
                            hls=f"/hls/rooms/{session.room}/live.m3u8")
    if len(players) >= media.max_peers - media.publisher_peers:
        raise LiveroomError("media_busy", "this server has as many players as it takes; try "
                            "again later", scope="instance")
    if not session.owner.get("guest"):
        return
    guests = [s for s in players if s.owner.get("guest")]
    address = session.owner.get("address")
    per_address = media.guest_peers_per_address
    if per_address and address and sum(
            s.owner.get("address") == address for s in guests) >= per_address:
        raise LiveroomError("too_many_sessions", f"at most {per_address} guest players per "
                            "address; close one, or sign in", scope="address",
                            limit=per_address)
    per_room = media.guest_peers_per_room
    if per_room and sum(s.room == session.room for s in guests) >= per_room:
        raise LiveroomError("media_busy", "this room has as many guest players as this server "
                            "takes; try again later, or sign in", scope="room", limit=per_room)
