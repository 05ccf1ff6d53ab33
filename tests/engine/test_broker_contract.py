"""The broker's guarantees (liveroom/engine/broker.py), checked on both engines."""

from __future__ import annotations

import pytest

from liveroom.engine import Position

from ..helpers import eventually


async def test_sequence_numbers_count_up_from_one_per_room(engine):
    assert [await engine.broker.publish("a", {"type": "t", "n": i}) for i in range(3)] == [1, 2, 3]
    assert await engine.broker.publish("b", {"type": "t"}) == 1
    position = await engine.broker.position("a")
    assert position.seq == 3


async def test_subscriber_gets_every_event_once_in_order_including_its_own(engine):
    recorder = engine.broker.handler
    await engine.broker.subscribe("a")
    for i in range(50):
        await engine.broker.publish("a", {"type": "t", "n": i})
    await eventually(lambda: len(recorder.seqs("a")) == 50, what="50 events delivered")
    assert recorder.seqs("a") == list(range(1, 51))
    assert [e["n"] for _, _, e in recorder.events] == list(range(50))


async def test_subscribe_returns_the_position_delivery_starts_after(engine):
    recorder = engine.broker.handler
    await engine.broker.publish("a", {"type": "before"})
    start = await engine.broker.subscribe("a")
    assert start.seq == 1
    await engine.broker.publish("a", {"type": "after"})
    await eventually(lambda: recorder.events, what="an event")
    assert [(seq, e["type"]) for _, seq, e in recorder.events] == [(2, "after")]


async def test_unsubscribed_rooms_are_not_delivered(engine):
    recorder = engine.broker.handler
    await engine.broker.subscribe("a")
    await engine.broker.publish("b", {"type": "other room"})
    await engine.broker.publish("a", {"type": "mine"})
    await eventually(lambda: recorder.events, what="an event")
    await engine.broker.unsubscribe("a")
    await engine.broker.publish("a", {"type": "after unsubscribe"})
    marker_room = "c"
    await engine.broker.subscribe(marker_room)
    await engine.broker.publish(marker_room, {"type": "marker"})
    await eventually(lambda: any(r == marker_room for r, _, _ in recorder.events), what="marker")
    assert [e["type"] for _, _, e in recorder.events] == ["mine", "marker"]


async def test_history_returns_exactly_the_missed_events(engine):
    for i in range(10):
        await engine.broker.publish("a", {"type": "t", "n": i})
    epoch = (await engine.broker.position("a")).epoch
    missed = await engine.broker.history("a", Position(epoch, 7))
    assert [(seq, e["n"]) for seq, e in missed] == [(8, 7), (9, 8), (10, 9)]
    assert await engine.broker.history("a", Position(epoch, 10)) == []


async def test_history_refuses_other_epochs_future_positions_and_trimmed_gaps(
    engine_kind, make_settings
):
    from liveroom.engine import create_engine

    engine = create_engine(make_settings(engine_kind, history_size=5).core)
    engine.broker.attach(_Null())
    await engine.start()
    try:
        for i in range(8):
            await engine.broker.publish("a", {"type": "t", "n": i})
        epoch = (await engine.broker.position("a")).epoch
        assert await engine.broker.history("a", Position(epoch, 2)) is None  # 3..8 > 5 kept
        assert [s for s, _ in await engine.broker.history("a", Position(epoch, 3))] == [4, 5, 6,
                                                                                       7, 8]
        assert await engine.broker.history("a", Position("another-epoch", 7)) is None
        assert await engine.broker.history("a", Position(epoch, 9)) is None
    finally:
        await engine.close()


async def test_an_unencodable_event_fails_at_publish_and_takes_no_sequence_number(engine):
    with pytest.raises(TypeError):
        await engine.broker.publish("a", {"type": "t", "bad": object()})
    assert await engine.broker.publish("a", {"type": "t"}) == 1


async def test_publish_latest_skips_unchanged_values_and_throttles_changes(engine):
    broker = engine.broker
    assert await broker.publish_latest("a", "viewers", {"type": "viewers", "count": 1}, 0) == 1
    assert await broker.publish_latest("a", "viewers", {"type": "viewers", "count": 1}, 0) is None
    assert await broker.publish_latest("a", "viewers", {"type": "viewers", "count": 2}, 60) is None
    assert await broker.publish_latest("a", "other", {"type": "x", "count": 2}, 60) == 2
    assert await broker.publish_latest("a", "viewers", {"type": "viewers", "count": 3}, 0) == 3


class _Null:
    def on_event(self, room, seq, event):
        pass

    def on_reset(self, room, position):
        pass


async def test_instance_messages_reach_the_instance_they_are_sent_to(engine):
    received = []
    engine.broker.attach_instance(received.append)
    me = engine.broker.instance_id
    # The Redis listener subscribes to this instance's channel as it connects, just after start.
    await eventually(lambda: engine.broker.send_to_instance(me, {"op": "ping", "n": 1}),
                     what="the instance's own channel")
    await eventually(lambda: received == [{"op": "ping", "n": 1}], what="the message")
    assert await engine.broker.send_to_instance("nobody-by-that-id", {"op": "ping"}) is False
