"""What the HLS tests share: an H.264 WHIP publisher, and reading segments with PyAV."""

from __future__ import annotations

import io
import re

import av

from ..helpers import eventually, token
from ..signaling.clients import answer, local_offer, post_sdp, publisher_pc

ROOM = "thailand"


async def publish_h264(srv, http, peers, room: str = ROOM, video: str = "H264"):
    """A WHIP host sending the pattern (encoded by aiortc: H.264 constrained baseline) and
    Opus; returns once the room is live."""
    pc = peers(publisher_pc(video=video))
    response = await post_sdp(http, f"{srv.base_url}/whip/rooms/{room}", await local_offer(pc),
                              token(room, "host", user="siam"))
    await answer(pc, response)
    return pc


async def playlist(http, url: str, **kwargs) -> tuple[int, str, dict]:
    async with http.get(url, **kwargs) as response:
        return response.status, await response.text(), dict(response.headers)


def uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def init_uri(text: str) -> str:
    match = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text)
    assert match, text
    return match.group(1)


async def live_segments(http, srv, room: str = ROOM, count: int = 3, **kwargs) -> str:
    """The live playlist once it lists `count` segments."""
    url = f"{srv.base_url}/hls/rooms/{room}/live.m3u8"

    async def ready():
        status, text, _ = await playlist(http, url, **kwargs)
        return text if status == 200 and len(uris(text)) >= count else None

    return await eventually(ready, timeout=20, what="a live playlist with segments")


def read_segment(init: bytes, segment: bytes) -> dict:
    """Demux and decode one segment with its init segment: its video packets' timestamps
    (seconds), whether it starts at a keyframe, the decoded pictures, its audio packets."""
    container = av.open(io.BytesIO(init + segment))
    video = container.streams.video[0]
    packets, audio = [], 0
    for packet in container.demux():
        if packet.size == 0:
            continue
        if packet.stream.type == "video":
            packets.append(packet)
        else:
            audio += 1
    decoder = av.CodecContext.create("h264", "r")
    decoder.extradata = video.codec_context.extradata
    pictures = []
    for packet in packets:
        pictures += decoder.decode(packet)
    pictures += decoder.decode(None)
    return {"times": [float(p.pts * video.time_base) for p in packets],
            "key_first": bool(packets) and packets[0].is_keyframe,
            "pictures": pictures, "audio": audio,
            "size": (video.codec_context.width, video.codec_context.height)}
