"""H.264 profiles through aiortc's constrained-baseline-only negotiation (h264.py)."""

from __future__ import annotations

from aiortc import sdp

from signaling import h264

# The video section of a browser's offer: VP8, then H.264 in four profiles, each with RTX.
BROWSER_VIDEO = """m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109\r
c=IN IP4 0.0.0.0\r
a=mid:1\r
a=rtpmap:96 VP8/90000\r
a=rtcp-fb:96 nack\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
a=rtpmap:102 H264/90000\r
a=rtcp-fb:102 nack pli\r
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r
a=rtpmap:103 rtx/90000\r
a=fmtp:103 apt=102\r
a=rtpmap:104 H264/90000\r
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r
a=rtpmap:105 rtx/90000\r
a=fmtp:105 apt=104\r
a=rtpmap:106 H264/90000\r
a=rtcp-fb:106 nack pli\r
a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r
a=rtpmap:107 rtx/90000\r
a=fmtp:107 apt=106\r
a=rtpmap:108 H264/90000\r
a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032\r
a=rtpmap:109 rtx/90000\r
a=fmtp:109 apt=108\r
"""
OFFER = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + BROWSER_VIDEO


def formats() -> list:
    return sdp.SessionDescription.parse(OFFER).media[0].rtp.codecs


def test_a_publisher_is_asked_for_the_most_widely_decodable_profile():
    # 104 is constrained baseline but packetization-mode 0: not one the relay carries.
    assert h264.for_publisher(formats()) == h264.Choice(102, "42001f")


def test_a_player_gets_the_publishers_profile_or_one_that_decodes_it():
    assert h264.for_player(formats(), "4d0028") == h264.Choice(106, "4d0028")  # same profile
    assert h264.for_player(formats(), "640c1f") == h264.Choice(108, "640032")  # High decodes it
    assert h264.for_player(formats()[:3], "640028") is None  # only VP8 and baseline


def test_aiortc_sees_the_chosen_format_as_constrained_baseline_and_the_answer_is_restored():
    carried = h264.carrier_offer(OFFER, h264.Choice(108, "640032"))
    video = sdp.SessionDescription.parse(carried).media[0]
    assert video.fmt == [96, 97, 108, 109]  # the other H.264 formats and their RTX are gone
    chosen = next(c for c in video.rtp.codecs if c.payloadType == 108)
    assert chosen.parameters["profile-level-id"] == "42e01f"
    assert chosen.parameters["packetization-mode"] == "1"
    answer = ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 108\r\na=rtpmap:108 H264/90000\r\n"
              "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;"
              "profile-level-id=42e01f\r\n")
    restored = h264.real_answer(answer, h264.Choice(108, "640032"))
    assert "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;" \
           "profile-level-id=640032\r\n" in restored
