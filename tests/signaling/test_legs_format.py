"""The relay leg's format and its signature, on their own (tests/multi/test_media_cascade*.py
run real legs between real instances)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveroom.domain.errors import LiveroomError
from signaling import leg_auth, leg_wire
from signaling.relay import Codec

SECRET = "a secret every instance shares, long enough"
H264 = Codec("video", "video/H264", 90000, None, {
    "profile-level-id": "4d001f", "packetization-mode": "1", "level-asymmetry-allowed": "1"})
OPUS = Codec("audio", "audio/opus", 48000, 2, {"minptime": "10", "useinbandfec": "1"})


def test_tracks_travel_with_their_codec_parameters():
    message = json.loads(leg_wire.tracks_message([(1, "host", "video", H264),
                                                  (2, "cohost", "audio", OPUS)]))
    tracks = leg_wire.read_tracks(message)
    assert [(t, slot, kind) for t, slot, kind, _ in tracks] == [
        (1, "host", "video"), (2, "cohost", "audio")]
    assert tracks[0][3].same_as(H264) and tracks[0][3].parameters["profile-level-id"] == "4d001f"
    assert tracks[1][3].same_as(OPUS) and tracks[1][3].channels == 2


def test_a_frame_keeps_its_track_timestamp_keyframe_flag_and_bytes():
    data = b"\x00\x00\x00\x01\x65" + bytes(range(256)) * 10
    track, key, timestamp, sent_at, payload = leg_wire.read_frame(
        leg_wire.frame(513, True, 2**40 + 7, data))
    assert (track, key, timestamp, payload) == (513, True, 2**40 + 7, data)
    assert sent_at > 0
    with pytest.raises(leg_wire.BadMessage):
        leg_wire.read_frame(b"short")


RECORDS = st.lists(st.tuples(
    st.integers(0, 0xFFFF), st.booleans(), st.integers(0, 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.binary(max_size=300)), max_size=8)


@given(RECORDS)
def test_frames_batched_in_one_message_come_out_as_they_went_in(records):
    assert leg_wire.read_frames(leg_wire.frames(records)) == records
    assert leg_wire.reader(leg_wire.BATCHED)(leg_wire.frames(records)) == records


@given(RECORDS.filter(bool), st.data())
def test_a_batch_cut_short_anywhere_inside_a_frame_is_refused(records, data):
    message = leg_wire.frames(records)
    ends, at = set(), 0  # where a whole frame ends: a batch cut there is a shorter batch
    for record in records:
        at += leg_wire.RECORD.size + len(record[4])
        ends.add(at)
    cut = data.draw(st.integers(1, len(message) - 1).filter(lambda n: n not in ends))
    with pytest.raises(leg_wire.BadMessage):
        leg_wire.read_frames(message[:cut])


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 1 << 20])
def test_a_message_goes_out_as_one_binary_websocket_frame_of_its_length(size):
    message = bytes(range(256)) * (size // 256) + bytes(size % 256)
    frame = leg_wire.binary_frame(message)
    assert frame[0] == 0x82  # FIN, binary; one fragment
    assert not frame[1] & 0x80  # a server's frames are not masked
    length, at = frame[1], 2  # RFC 6455 5.2: 7 bits, or 126 + 16 bits, or 127 + 64 bits
    if length == 126:
        length, at = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, at = int.from_bytes(frame[2:10], "big"), 10
    assert length == size and frame[at:] == message
    assert at == (2 if size < 126 else 4 if size < 65536 else 10)  # the shortest form


def test_a_leg_without_the_subprotocol_reads_one_frame_per_message():
    message = leg_wire.frame(7, False, 900, b"\x00\x00\x00\x10audio", sent_at=12.5)
    assert leg_wire.reader(None)(message) == [(7, False, 900, 12.5, b"\x00\x00\x00\x10audio")]


@pytest.mark.parametrize("tracks", [
    None, [1], [{"id": -1, "slot": "host", "kind": "video", "codec": {}}],
    [{"id": 1, "slot": "guest", "kind": "video", "codec": {}}],
    [{"id": 1, "slot": "host", "kind": "video",
      "codec": {"mime": "audio/opus", "clock_rate": 48000}}],
    [{"id": 1, "slot": "host", "kind": "video", "codec": {"mime": "video/VP8",
                                                          "clock_rate": "fast"}}],
])
def test_a_tracks_message_out_of_shape_is_refused(tracks):
    with pytest.raises(leg_wire.BadMessage):
        leg_wire.read_tracks({"type": "tracks", "tracks": tracks})


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"frames": 3}'])
def test_a_control_message_must_be_an_object_with_a_type(text):
    with pytest.raises(leg_wire.BadMessage):
        leg_wire.control(text)


def test_a_leg_token_opens_only_its_room_until_it_lapses():
    header = leg_auth.header(SECRET, "thailand", "0a1b2c", now=1000)
    assert leg_auth.check(SECRET, "thailand", header, now=1000 + leg_auth.TTL) == "0a1b2c"
    refusals = [
        (SECRET, "chile", header, 1000),  # another room
        (SECRET, "thailand", header, 1001 + leg_auth.TTL),  # lapsed
        ("another secret, just as long as ours", "thailand", header, 1000),
        (SECRET, "thailand", header.replace("0a1b2c", "ffffff"), 1000),  # another instance
        (SECRET, "thailand", header[:-1] + ("0" if header[-1] != "0" else "1"), 1000),
        (SECRET, "thailand", f"{leg_auth.SCHEME} 0a1b2c.soon.abc", 1000),
    ]
    for secret, room, value, now in refusals:
        with pytest.raises(LiveroomError) as refused:
            leg_auth.check(secret, room, value, now=now)
        assert refused.value.code == "forbidden"
    for value in (None, "", "Bearer abc", f"{leg_auth.SCHEME} "):
        with pytest.raises(LiveroomError) as refused:
            leg_auth.check(SECRET, "thailand", value, now=1000)
        assert refused.value.code == "unauthorized"
