"""The presence guarantees (liveroom/engine/presence.py), checked on both engines."""

from __future__ import annotations

import pytest

from liveroom.engine import create_engine


def _viewer(user: str, name: str | None = None) -> dict:
    return {"user_id": user, "name": name or user.title(), "role": "viewer"}


async def test_viewers_are_counted_once_per_person_however_many_tabs(engine):
    presence = engine.presence
    await presence.join("a", "tab-1", _viewer("ann"))
    await presence.join("a", "tab-2", _viewer("ann"))
    await presence.join("a", "tab-1", _viewer("ann"))
    await presence.join("a", "c2", _viewer("bo"))
    await presence.join("b", "c3", _viewer("cy"))
    assert await presence.count("a") == 2
    assert await presence.counts(["a", "b", "empty"]) == {"a": 2, "b": 1, "empty": 0}
    await presence.leave("a", "tab-1")
    assert await presence.count("a") == 2  # ann still has a tab open
    await presence.leave("a", "tab-2")
    await presence.leave("a", "tab-2")
    assert await presence.count("a") == 1
    assert [m["user_id"] for m in await presence.members("a")] == ["bo"]


async def test_staff_are_members_but_not_audience(engine):
    await engine.presence.join("a", "c1", {"user_id": "host", "name": "Siam", "role": "host"})
    await engine.presence.join("a", "c2", {"user_id": "mod", "name": "Mod", "role": "moderator"})
    await engine.presence.join("a", "c3", _viewer("ann"))
    assert await engine.presence.count("a") == 1
    members = await engine.presence.members("a")
    assert sorted(m["user_id"] for m in members) == ["ann", "host", "mod"]


async def test_a_renamed_member_is_updated_not_added(engine):
    await engine.presence.join("a", "c1", {"user_id": "g1", "name": None, "role": "viewer"})
    await engine.presence.join("a", "c1", {"user_id": "g1", "name": "Ann", "role": "viewer"})
    assert await engine.presence.members("a") == [{"user_id": "g1", "name": "Ann",
                                                   "role": "viewer"}]
    assert await engine.presence.count("a") == 1


@pytest.fixture
async def two_instances(engine, engine_kind, make_settings):
    """The engine as two instances see it: on Redis, a second instance of its own; embedded,
    one process is the only instance there is."""
    if engine_kind == "memory":
        yield engine, engine
        return
    other = create_engine(make_settings(engine_kind).core)
    await other.start()
    yield engine, other
    await other.close()


async def test_a_viewer_with_tabs_on_two_instances_counts_once(two_instances):
    one, two = two_instances
    await one.presence.join("a", "tab-1", _viewer("ann"))
    await two.presence.join("a", "tab-2", _viewer("ann"))
    await two.presence.join("a", "tab-3", _viewer("bo"))
    assert await one.presence.count("a") == 2
    assert await two.presence.counts(["a"]) == {"a": 2}
    await one.presence.leave("a", "tab-1")
    assert await two.presence.count("a") == 2  # ann still watches on the other instance
    await two.presence.leave("a", "tab-2")
    assert await one.presence.count("a") == 1
    await two.presence.leave("a", "tab-3")
    assert await one.presence.count("a") == 0
