"""The media guarantees (liveroom/engine/media.py), checked on both engines."""

from __future__ import annotations

import asyncio

import pytest

from liveroom.domain import events
from liveroom.domain.errors import LiveroomError
from liveroom.engine import Position

from ..conftest import demo_room
from ..helpers import eventually

TTL = 30.0


def _claim(session: str, *, slot: str = "host", user: str = "siam", instance: str | None = None,
           engine=None, **extra) -> dict:
    return {
        "slot": slot, "session": session, "user_id": user, "name": user.title(),
        "instance": instance or engine.instance_id, "url": "http://127.0.0.1:1",
        "source": "browser", "replaceable": False, "video": "VP8", "audio": "opus", **extra,
    }


@pytest.fixture
async def media(engine):
    await engine.store.create_room(demo_room())
    engine.instance_id = "me"
    return engine.media


async def _events(engine, room: str = "thailand") -> list[dict]:
    position = await engine.broker.position(room)
    return [e for _, e in await engine.broker.history(room, Position(position.epoch, 0))]


async def test_a_claim_goes_live_when_told_and_offline_when_released(engine, media):
    assert await media.claim("thailand", _claim("s1", engine=engine), TTL) is None
    assert await media.state("thailand") == {"live": False, "publishers": {}}
    assert await _events(engine) == []
    seq = await media.go_live("thailand", "host", "s1")
    assert seq == 1
    assert await media.go_live("thailand", "host", "s1") is None  # already live: no second event
    state = await media.state("thailand")
    assert state["live"] is True
    publisher = state["publishers"]["host"]
    assert publisher["session"] == "s1" and publisher["name"] == "Siam"
    assert publisher["video"] == "VP8" and isinstance(publisher["since"], int)
    assert await media.release("thailand", "host", "s1", "stopped") == 2
    assert await media.state("thailand") == {"live": False, "publishers": {}}
    assert await _events(engine) == [
        events.media_live("host", publisher), events.media_offline("host", "s1", "stopped")]


async def test_a_released_claim_that_never_went_live_announces_nothing(engine, media):
    await media.claim("thailand", _claim("s1", engine=engine), TTL)
    assert await media.release("thailand", "host", "s1", "failed") is None
    assert await media.claims("thailand") == []
    assert await _events(engine) == []


async def test_a_held_slot_refuses_another_publisher_but_not_the_same_user(engine, media):
    await media.claim("thailand", _claim("s1", engine=engine), TTL)
    await media.go_live("thailand", "host", "s1")
    in_the_way = await media.claim("thailand", _claim("s2", user="intruder", engine=engine), TTL)
    assert in_the_way["session"] == "s1"
    # The same user again (a reloaded studio page) takes over, and the old session is offline.
    assert await media.claim("thailand", _claim("s3", engine=engine), TTL) is None
    assert [c["session"] for c in await media.claims("thailand")] == ["s3"]
    assert (await _events(engine))[-1] == events.media_offline("host", "s1", "replaced")
    assert await media.go_live("thailand", "host", "s1") is None  # the old one holds nothing
    assert await media.release("thailand", "host", "s1", "stopped") is None


async def test_a_cohost_may_publish_beside_the_host_on_the_same_instance_only(engine, media):
    await media.claim("thailand", _claim("h", engine=engine), TTL)
    elsewhere = _claim("c1", slot="cohost", user="guest", instance="other", engine=engine)
    assert (await media.claim("thailand", elsewhere, TTL))["session"] == "h"
    here = _claim("c2", slot="cohost", user="guest", engine=engine)
    assert await media.claim("thailand", here, TTL) is None
    await media.go_live("thailand", "host", "h")
    await media.go_live("thailand", "cohost", "c2")
    state = await media.state("thailand")
    assert sorted(state["publishers"]) == ["cohost", "host"]
    assert (await media.owner("thailand"))["instance"] == "me"


async def test_a_replaceable_claim_gives_way_to_a_real_publisher_anywhere(engine, media):
    demo = _claim("demo", user="demo-thailand", source="demo", replaceable=True, engine=engine)
    await media.claim("thailand", demo, TTL)
    await media.go_live("thailand", "host", "demo")
    assert (await media.owner("thailand"))["session"] == "demo"
    real = _claim("real", instance="other", engine=engine)
    assert await media.claim("thailand", real, TTL) is None
    assert (await media.owner("thailand"))["instance"] == "other"
    assert (await _events(engine))[-1] == events.media_offline("host", "demo", "replaced")
    assert await media.refresh([("thailand", "host", "demo"), ("thailand", "host", "real")],
                               TTL) == [False, True]


async def test_a_claim_nobody_refreshes_lapses_and_the_sweep_announces_it(engine, media):
    # A claim of another instance that stopped heartbeating (crashed).
    await media.claim("thailand", _claim("s1", instance="crashed", engine=engine), 0.3)
    await media.go_live("thailand", "host", "s1")
    assert (await media.state("thailand"))["live"]
    await eventually(lambda: _not_live(media), timeout=5, what="the claim to lapse")
    assert await media.owner("thailand") is None
    assert await media.sweep() == 1
    assert (await _events(engine))[-1] == events.media_offline("host", "s1", "expired")
    assert await media.sweep() == 0
    assert await media.refresh([("thailand", "host", "s1")], TTL) == [False]


async def _not_live(media) -> bool:
    return not (await media.state("thailand"))["live"]


async def test_a_refreshed_claim_outlives_its_first_ttl(engine, media):
    await media.claim("thailand", _claim("s1", engine=engine), 0.5)
    for _ in range(4):  # 0.6 s in all: past the first deadline
        assert await media.refresh([("thailand", "host", "s1")], 0.5) == [True]
        await asyncio.sleep(0.15)
    assert [c["session"] for c in await media.claims("thailand")] == ["s1"]


async def test_states_of_many_rooms_and_unknown_rooms(engine, media):
    await engine.store.create_room(demo_room("chile", title="Chile", country="Chile",
                                             country_code="CL"))
    await media.claim("chile", _claim("s1", engine=engine), TTL)
    await media.go_live("chile", "host", "s1")
    states = await media.states(["thailand", "chile"])
    assert states["thailand"]["live"] is False and states["chile"]["live"] is True
    with pytest.raises(LiveroomError) as missing:
        await media.claim("nowhere", _claim("s2", engine=engine), TTL)
    assert missing.value.code == "room_not_found"


async def test_a_deleted_rooms_claims_announce_nothing_and_are_swept(engine, media):
    await media.claim("thailand", _claim("s1", engine=engine), TTL)
    await media.go_live("thailand", "host", "s1")
    await engine.store.delete_room("thailand")
    assert await media.release("thailand", "host", "s1", "stopped") is None
    await media.sweep()
    assert await media.claims("thailand") == []


async def test_a_thumbnail_is_served_until_its_ttl_runs_out(engine, media):
    assert await engine.media.thumbnail("thailand") is None
    await engine.media.put_thumbnail("thailand", b"\xff\xd8first\xff\xd9", 30)
    await engine.media.put_thumbnail("thailand", b"\xff\xd8second\xff\xd9", 0.3)
    assert await engine.media.thumbnail("thailand") == b"\xff\xd8second\xff\xd9"
    assert await engine.media.thumbnail("chile") is None
    await eventually(_gone(engine, "thailand"), timeout=5, what="the thumbnail to lapse")


def _gone(engine, room):
    async def check():
        return await engine.media.thumbnail(room) is None
    return check


async def test_recordings_are_indexed_per_room_until_dropped_or_the_room_is_deleted(engine,
                                                                                   media):
    first = {"id": "20261130T100000Z-aaaaaa", "instance": "me", "url": "http://10.0.0.1:8081",
             "duration": 12.5, "recording": False, "timeline_events": 3}
    second = {**first, "id": "20261130T110000Z-bbbbbb", "recording": True}
    await media.put_replay("thailand", second)
    await media.put_replay("thailand", first)
    assert await media.replays("thailand") == [first, second]  # by id: by start
    await media.put_replay("thailand", {**second, "recording": False, "duration": 60.25})
    assert (await media.replays("thailand"))[1]["duration"] == 60.25
    assert await media.replays("chile") == []
    assert await media.drop_replay("thailand", first["id"]) is True
    assert await media.drop_replay("thailand", first["id"]) is False
    assert [r["id"] for r in await media.replays("thailand")] == [second["id"]]

    await media.put_replay("atlantis", first)  # no such room: nothing is kept
    assert await media.replays("atlantis") == []
    assert await engine.store.delete_room("thailand")
    await engine.store.create_room(demo_room())  # a new room of the same name starts empty
    assert await media.replays("thailand") == []
