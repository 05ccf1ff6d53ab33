"""The store's guarantees (liveroom/engine/store.py), checked on both engines."""

from __future__ import annotations

import time

import pytest

from liveroom.domain import events
from liveroom.domain.errors import LiveroomError
from liveroom.engine import create_engine

from ..conftest import Recorder, demo_product, demo_room
from ..helpers import eventually


def _message(mid: str, user: str = "u1", text: str = "hello") -> dict:
    return {"id": mid, "user_id": user, "name": user.title(), "role": "viewer", "text": text,
            "ts": int(time.time() * 1000)}


async def _history(engine, room: str) -> list[dict]:
    position = await engine.broker.position(room)
    from liveroom.engine import Position

    return [e for _, e in await engine.broker.history(room, Position(position.epoch, 0))]


async def test_rooms_are_created_listed_updated_and_deleted(engine):
    store = engine.store
    await store.create_room(demo_room())
    await store.create_room(demo_room("chile", title="Chile", country="Chile",
                                      country_code="CL"))
    with pytest.raises(LiveroomError) as taken:
        await store.create_room(demo_room())
    assert taken.value.code == "conflict"
    assert [r["id"] for r in await store.list_rooms()] == ["thailand", "chile"] or sorted(
        r["id"] for r in await store.list_rooms()) == ["chile", "thailand"]
    updated = {**await store.get_room("thailand"), "title": "New title"}
    await store.update_room(updated)
    assert (await store.get_room("thailand"))["title"] == "New title"
    assert (await _history(engine, "thailand"))[-1] == events.room_updated(updated)
    assert await store.delete_room("thailand") is True
    assert await store.get_room("thailand") is None
    assert await store.delete_room("thailand") is False
    assert [r["id"] for r in await store.list_rooms()] == ["chile"]
    with pytest.raises(LiveroomError) as gone:
        await store.update_room(updated)
    assert gone.value.code == "room_not_found"


async def test_deleting_a_room_announces_it_and_a_new_room_of_that_name_starts_afresh(engine):
    await engine.store.create_room(demo_room())
    await engine.broker.subscribe("thailand")
    await engine.store.put_product("thailand", demo_product(), create=True)
    old_epoch = (await engine.broker.position("thailand")).epoch
    await engine.store.delete_room("thailand")
    recorder = engine.broker.handler
    await eventually(lambda: any(e["type"] == "room.deleted" for _, _, e in recorder.events),
                     what="room.deleted")
    await engine.store.create_room(demo_room())
    assert await engine.store.list_products("thailand") == []
    snapshot = await engine.store.snapshot("thailand")
    assert snapshot.position.epoch != old_epoch and snapshot.position.seq == 0
    assert snapshot.pin is None and snapshot.chat == []


async def test_products_are_added_changed_and_removed_with_events(engine, room):
    store = engine.store
    assert [p["id"] for p in await store.list_products(room)] == ["durian", "mango"]
    with pytest.raises(LiveroomError) as taken:
        await store.put_product(room, demo_product(), create=True)
    assert taken.value.code == "conflict"
    cheaper = {**await store.get_product(room, "durian"), "price": "799.00"}
    await store.put_product(room, cheaper, create=False)
    assert (await store.get_product(room, "durian"))["price"] == "799.00"
    with pytest.raises(LiveroomError) as missing:
        await store.put_product(room, demo_product("nope"), create=False)
    assert missing.value.code == "product_not_found"
    await store.delete_product(room, "mango")
    assert await store.get_product(room, "mango") is None
    history = await _history(engine, room)
    assert history == [
        events.product_added(demo_product()),
        events.product_added(demo_product("mango", name="Mango")),
        events.product_updated(cheaper),
        events.product_removed("mango"),
    ]
    with pytest.raises(LiveroomError) as no_room:
        await store.put_product("nowhere", demo_product(), create=True)
    assert no_room.value.code == "room_not_found"


async def test_pin_and_unpin_publish_the_product_and_removing_it_unpins(engine, room):
    store = engine.store
    product = await store.get_product(room, "durian")
    seq = await store.pin(room, "durian", "mod-1")
    assert (await _history(engine, room))[-1] == events.product_pinned(product, "mod-1")
    snapshot = await store.snapshot(room)
    assert snapshot.pin == product and snapshot.position.seq == seq
    assert await store.pin(room, None, "mod-1") is not None
    assert (await _history(engine, room))[-1] == events.product_unpinned("mod-1")
    assert await store.pin(room, None, "mod-1") is None  # nothing pinned: nothing to announce
    with pytest.raises(LiveroomError) as unknown:
        await store.pin(room, "nope", "mod-1")
    assert unknown.value.code == "product_not_found"
    await store.pin(room, "durian", "mod-1")
    await store.delete_product(room, "durian")
    assert (await _history(engine, room))[-2:] == [
        events.product_removed("durian"), events.product_unpinned("system"),
    ]
    assert (await store.snapshot(room)).pin is None


async def test_chat_keeps_a_bounded_tail_and_deletes_from_it(engine_kind, make_settings):
    engine = create_engine(make_settings(engine_kind, chat_tail=3).core)
    engine.broker.attach(Recorder())
    await engine.start()
    try:
        await engine.store.create_room(demo_room())
        for i in range(5):
            await engine.store.post_chat("thailand", _message(f"m{i}"), privileged=False)
        snapshot = await engine.store.snapshot("thailand")
        assert [m["id"] for m in snapshot.chat] == ["m2", "m3", "m4"]
        assert snapshot.chat[0] == _message("m2") | {"ts": snapshot.chat[0]["ts"]}
        await engine.store.delete_chat("thailand", "m3", "mod-1")
        assert [m["id"] for m in (await engine.store.snapshot("thailand")).chat] == ["m2", "m4"]
        assert (await _history(engine, "thailand"))[-1] == events.chat_deleted("m3", "mod-1")
        with pytest.raises(LiveroomError) as gone:
            await engine.store.delete_chat("thailand", "m0", "mod-1")
        assert gone.value.code == "message_not_found"
    finally:
        await engine.close()


async def test_banned_and_muted_users_cannot_chat_and_leave_no_trace(engine, room):
    store = engine.store
    await store.ban(room, "troll", "mod-1")
    assert await store.is_banned(room, "troll")
    seq_before = (await engine.broker.position(room)).seq
    with pytest.raises(LiveroomError) as banned:
        await store.post_chat(room, _message("x1", "troll"), privileged=False)
    assert banned.value.code == "banned"
    until = int(time.time() * 1000) + 60_000
    await store.mute(room, "loud", until, "mod-1")
    with pytest.raises(LiveroomError) as muted:
        await store.post_chat(room, _message("x2", "loud"), privileged=False)
    assert muted.value.code == "muted" and muted.value.extra["until"] == until
    assert (await engine.broker.position(room)).seq == seq_before + 1  # only the mute event
    assert (await store.snapshot(room)).chat == []
    await store.unmute(room, "loud", "mod-1")
    await store.post_chat(room, _message("x3", "loud"), privileged=False)
    await store.unban(room, "troll", "mod-1")
    assert not await store.is_banned(room, "troll")
    await store.post_chat(room, _message("x4", "troll"), privileged=False)
    assert [m["id"] for m in (await store.snapshot(room)).chat] == ["x3", "x4"]
    assert [e["type"] for e in (await _history(engine, room))[-6:]] == [
        "user.banned", "user.muted", "user.unmuted", "chat.message", "user.unbanned",
        "chat.message",
    ]


async def test_a_mute_that_has_expired_no_longer_silences(engine, room):
    await engine.store.mute(room, "loud", int(time.time() * 1000) - 1, "mod-1")
    await engine.store.post_chat(room, _message("x1", "loud"), privileged=False)


async def test_slow_mode_spaces_a_viewers_messages_but_not_a_moderators(engine, room):
    store = engine.store
    await store.set_slow_mode(room, 30, "mod-1")
    await store.post_chat(room, _message("a1", "viewer"), privileged=False)
    with pytest.raises(LiveroomError) as slow:
        await store.post_chat(room, _message("a2", "viewer"), privileged=False)
    assert slow.value.code == "slow_mode"
    assert 29_000 < slow.value.extra["retry_after_ms"] <= 30_000
    await store.post_chat(room, _message("b1", "other"), privileged=False)
    await store.post_chat(room, _message("m1", "mod"), privileged=True)
    await store.post_chat(room, _message("m2", "mod"), privileged=True)
    assert (await store.snapshot(room)).slow_mode == 30
    await store.set_slow_mode(room, 0, "mod-1")
    await store.post_chat(room, _message("a3", "viewer"), privileged=False)


async def test_users_speaking_for_one_sender_share_its_slow_mode_bans_and_mutes(engine, room):
    """Guests from one address: slow mode counts their messages against it, and its ban or mute
    silences them all."""
    store = engine.store
    await store.set_slow_mode(room, 30, "mod-1")
    await store.post_chat(room, _message("g1", "guest-1"), privileged=False, sender="addr-1")
    with pytest.raises(LiveroomError) as slow:
        await store.post_chat(room, _message("g2", "guest-2"), privileged=False,
                              sender="addr-1")
    assert slow.value.code == "slow_mode"
    await store.post_chat(room, _message("g3", "guest-3"), privileged=False, sender="addr-2")
    assert [m["id"] for m in (await store.snapshot(room)).chat] == ["g1", "g3"]
    # A sender's ban or mute silences every user speaking for it.
    await store.set_slow_mode(room, 0, "mod-1")
    await store.ban(room, "addr-1", "mod-1")
    await store.mute(room, "addr-2", int(time.time() * 1000) + 60_000, "mod-1")
    for sender, code in (("addr-1", "banned"), ("addr-2", "muted")):
        with pytest.raises(LiveroomError) as refused:
            await store.post_chat(room, _message(f"n-{sender}", "guest-9"), privileged=False,
                                  sender=sender)
        assert refused.value.code == code
    await store.post_chat(room, _message("ok", "guest-9"), privileged=False)


async def test_likes_add_up_and_announce_the_total(engine, room):
    await engine.store.add_likes(room, 3)
    await engine.store.add_likes(room, 4)
    assert (await _history(engine, room))[-1] == events.likes(4, 7)
    assert (await engine.store.snapshot(room)).likes == 7


async def test_the_snapshot_holds_everything_up_to_its_position(engine, room):
    store = engine.store
    await store.pin(room, "mango", "mod-1")
    await store.post_chat(room, _message("m1"), privileged=False)
    await store.add_likes(room, 2)
    last = await store.set_slow_mode(room, 5, "mod-1")
    snapshot = await store.snapshot(room)
    assert snapshot.position == await engine.broker.position(room)
    assert snapshot.position.seq == last
    assert snapshot.room == await store.get_room(room)
    assert snapshot.pin["id"] == "mango"
    assert [m["id"] for m in snapshot.chat] == ["m1"]
    assert (snapshot.likes, snapshot.slow_mode) == (2, 5)
    assert await store.snapshot("nowhere") is None


async def test_live_state_changes_to_an_unknown_room_are_refused(engine):
    for change in (
        engine.store.post_chat("nowhere", _message("m1"), privileged=False),
        engine.store.pin("nowhere", "durian", "mod"),
        engine.store.add_likes("nowhere", 1),
        engine.store.set_slow_mode("nowhere", 1, "mod"),
        engine.store.ban("nowhere", "u", "mod"),
    ):
        with pytest.raises(LiveroomError) as refused:
            await change
        assert refused.value.code == "room_not_found"


async def test_rooms_products_pins_bans_and_likes_survive_a_restart(engine_kind, make_settings):
    settings = make_settings(engine_kind).core
    first = create_engine(settings)
    first.broker.attach(Recorder())
    await first.start()
    await first.store.create_room(demo_room())
    await first.store.put_product("thailand", demo_product(), create=True)
    await first.store.pin("thailand", "durian", "mod")
    await first.store.ban("thailand", "troll", "mod")
    await first.store.set_slow_mode("thailand", 10, "mod")
    await first.store.add_likes("thailand", 5)
    await first.close()

    second = create_engine(settings)
    second.broker.attach(Recorder())
    await second.start()
    try:
        snapshot = await second.store.snapshot("thailand")
        assert snapshot.room["title"] == "Thailand live"
        assert snapshot.pin["id"] == "durian"
        assert (snapshot.slow_mode, snapshot.likes) == (10, 5)
        assert await second.store.is_banned("thailand", "troll")
        assert [p["id"] for p in await second.store.list_products("thailand")] == ["durian"]
    finally:
        await second.close()
