"""Live video's settings (see liveroom/config.py for how every part's settings are read)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from liveroom.config import ConfigError, Variables, csv, must_be_positive, parse_bool

from .peer_addresses import parse_networks


@dataclass(frozen=True)
class MediaSettings:
    # Live video (signaling/). STUN/TURN URLs handed to browsers; TURN ones get time-limited
    # credentials from turn_secret (coturn's static-auth-secret).
    ice_servers: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl: float = 86400.0
    # Addresses the server offers host candidates on; empty: loopback when listening on
    # loopback, else every interface's but loopback (signaling.ice_addresses).
    ice_addresses: tuple[str, ...] = ()
    # Networks remote candidates may name besides public addresses; empty: the special
    # ranges the server's own ICE addresses are in (signaling.peer_addresses).
    ice_peer_networks: tuple[str, ...] = ()
    # A peer connection whose peer has not sent an ICE check after ice_start_timeout, or that
    # has not connected after ice_timeout, is closed; a publisher whose media stops for
    # media_timeout is offline.
    ice_start_timeout: float = 5.0
    ice_timeout: float = 15.0
    media_timeout: float = 5.0
    # A connected player that sends nothing (no RTCP report, no ICE check) for player_timeout
    # is gone: its session ends.
    player_timeout: float = 10.0
    # Capacity (signaling.capacity): peer connections in all, the places of them kept for
    # publishers, and guest players per client address and per room (0: no cap).
    max_peers: int = 500
    publisher_peers: int = 20
    guest_peers_per_address: int = 8
    guest_peers_per_room: int = 300
    # Origins besides the server's own whose pages may use WHIP/WHEP ("*": any).
    media_origins: tuple[str, ...] = ()
    # Signaling for a room whose media is on another instance: "route" it there through the
    # engine, or answer WHIP/WHEP with a 307 "redirect" to that instance's public URL.
    media_routing: str = "route"
    # Relay legs (legs.py, leg_feed.py): the URL other instances open this one's legs at
    # (empty: http://<host>:<port>, the machine's name when listening on every interface);
    # how long a leg stays open after its last local viewer left; how long an origin waits
    # for a leg to acknowledge what it was sent before cutting it.
    instance_url: str = ""
    leg_linger: float = 5.0
    leg_stall_timeout: float = 5.0
    # With --demo, each demo room gets a synthetic host streaming a test card.
    demo_video: bool = True
    # Decode and re-encode for every viewer instead of forwarding (benchmark comparison only).
    media_transcode: bool = False
    # How forwarded frames reach viewers: "lean" (each frame packetized once, its packets
    # shared by every viewer) or "aiortc" (aiortc's own sender per viewer: the comparison).
    media_forward: str = "lean"
    # HLS (signaling/hls/): WebRTC players this instance takes before it answers media_busy
    # (scope webrtc) and the page plays HLS instead (0: no cap); recordings kept per room:
    # the newest replay_keep sessions, none older than replay_days days, at most
    # replay_max_bytes in all (0: no bound of that kind).
    webrtc_viewers_per_instance: int = 0
    replay_keep: int = 20
    replay_days: float = 30.0
    replay_max_bytes: int = 2_000_000_000


MEDIA_SETTINGS = web.AppKey("media_settings", MediaSettings)

VARIABLES: Variables = {
    "ice_servers": ("LIVEROOM_ICE_SERVERS", csv),
    "turn_secret": ("LIVEROOM_TURN_SECRET", str),
    "turn_ttl": ("LIVEROOM_TURN_TTL", float),
    "ice_addresses": ("LIVEROOM_ICE_ADDRESSES", csv),
    "ice_peer_networks": ("LIVEROOM_ICE_PEER_NETWORKS", csv),
    "ice_start_timeout": ("LIVEROOM_ICE_START_TIMEOUT", float),
    "ice_timeout": ("LIVEROOM_ICE_TIMEOUT", float),
    "media_timeout": ("LIVEROOM_MEDIA_TIMEOUT", float),
    "player_timeout": ("LIVEROOM_PLAYER_TIMEOUT", float),
    "max_peers": ("LIVEROOM_MAX_PEERS", int),
    "publisher_peers": ("LIVEROOM_PUBLISHER_PEERS", int),
    "guest_peers_per_address": ("LIVEROOM_GUEST_PEERS_PER_ADDRESS", int),
    "guest_peers_per_room": ("LIVEROOM_GUEST_PEERS_PER_ROOM", int),
    "media_origins": ("LIVEROOM_MEDIA_ORIGINS", csv),
    "media_routing": ("LIVEROOM_MEDIA_ROUTING", str),
    "instance_url": ("LIVEROOM_INSTANCE_URL", str),
    "leg_linger": ("LIVEROOM_LEG_LINGER", float),
    "leg_stall_timeout": ("LIVEROOM_LEG_STALL_TIMEOUT", float),
    "demo_video": ("LIVEROOM_DEMO_VIDEO", lambda v: parse_bool("LIVEROOM_DEMO_VIDEO", v)),
    "webrtc_viewers_per_instance": ("LIVEROOM_WEBRTC_VIEWERS_PER_INSTANCE", int),
    "replay_keep": ("LIVEROOM_REPLAY_KEEP", int),
    "replay_days": ("LIVEROOM_REPLAY_DAYS", float),
    "replay_max_bytes": ("LIVEROOM_REPLAY_MAX_BYTES", int),
    "media_transcode": (
        "LIVEROOM_MEDIA_TRANSCODE", lambda v: parse_bool("LIVEROOM_MEDIA_TRANSCODE", v)
    ),
    "media_forward": ("LIVEROOM_MEDIA_FORWARD", str),
}


def validate(settings: MediaSettings) -> None:
    for url in settings.ice_servers:
        scheme = url.split(":", 1)[0]
        if scheme not in ("stun", "stuns", "turn", "turns") or ":" not in url:
            raise ConfigError(
                f"ice-servers (LIVEROOM_ICE_SERVERS): {url!r} is not a stun:, stuns:, turn: or "
                "turns: URL"
            )
        if scheme.startswith("turn") and not settings.turn_secret:
            raise ConfigError(
                f"turn-secret (LIVEROOM_TURN_SECRET) is required for the TURN server {url!r}: "
                "credentials are minted from it (coturn's static-auth-secret)"
            )
    for address in settings.ice_addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(
                f"ice-addresses (LIVEROOM_ICE_ADDRESSES): {address!r} is not an IP address"
            ) from None
    try:
        parse_networks(settings.ice_peer_networks)
    except ValueError as exc:
        raise ConfigError(f"ice-peer-networks (LIVEROOM_ICE_PEER_NETWORKS): {exc}") from None
    if not 0 <= settings.publisher_peers < settings.max_peers:
        raise ConfigError(
            f"publisher-peers (LIVEROOM_PUBLISHER_PEERS): {settings.publisher_peers} must be at "
            f"least 0 and below LIVEROOM_MAX_PEERS ({settings.max_peers})")
    for name in ("guest_peers_per_address", "guest_peers_per_room",
                 "webrtc_viewers_per_instance", "replay_keep", "replay_days", "replay_max_bytes"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name.replace('_', '-')} ({VARIABLES[name][0]}) must be 0 (no "
                              "cap) or more")
    for origin in settings.media_origins:
        parts = urlsplit(origin)
        if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc
                              or parts.path.strip("/")):
            raise ConfigError(f"media-origins (LIVEROOM_MEDIA_ORIGINS): {origin!r} is not an "
                              "origin (scheme://host[:port]) or *")
    if settings.media_forward not in ("lean", "aiortc"):
        raise ConfigError(
            f"media-forward (LIVEROOM_MEDIA_FORWARD): {settings.media_forward!r} is not one of "
            "lean, aiortc"
        )
    if settings.media_routing not in ("route", "redirect"):
        raise ConfigError(
            f"media-routing (LIVEROOM_MEDIA_ROUTING): {settings.media_routing!r} is not one of "
            "route, redirect"
        )
    if settings.instance_url:
        parts = urlsplit(settings.instance_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise ConfigError(f"instance-url (LIVEROOM_INSTANCE_URL): {settings.instance_url!r} "
                              "is not a URL of the form http[s]://host[:port]")
    if settings.leg_linger < 0:
        raise ConfigError("leg-linger (LIVEROOM_LEG_LINGER) must be 0 or more")
    must_be_positive(settings, VARIABLES, "leg_stall_timeout", "turn_ttl", "ice_start_timeout",
                     "ice_timeout", "media_timeout", "player_timeout", "max_peers")
