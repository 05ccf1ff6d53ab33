"""The presence guarantees (liveroom/engine/presence.py), checked on both engines."""

from __future__ import annotations


async def test_join_and_leave_are_counted_once_per_connection(engine):
    presence = engine.presence
    await presence.join("a", "c1", {"user_id": "u1", "name": "Ann", "role": "viewer"})
    await presence.join("a", "c1", {"user_id": "u1", "name": "Ann", "role": "viewer"})
    await presence.join("a", "c2", {"user_id": "u2", "name": "Bo", "role": "viewer"})
    await presence.join("b", "c3", {"user_id": "u3", "name": "Cy", "role": "viewer"})
    assert await presence.count("a") == 2
    assert await presence.counts(["a", "b", "empty"]) == {"a": 2, "b": 1, "empty": 0}
    members = await presence.members("a")
    assert sorted(m["user_id"] for m in members) == ["u1", "u2"]
    await presence.leave("a", "c1")
    await presence.leave("a", "c1")
    assert await presence.count("a") == 1


async def test_a_renamed_member_is_updated_not_added(engine):
    await engine.presence.join("a", "c1", {"user_id": "g1", "name": None, "role": "viewer"})
    await engine.presence.join("a", "c1", {"user_id": "g1", "name": "Ann", "role": "viewer"})
    assert await engine.presence.members("a") == [{"user_id": "g1", "name": "Ann",
                                                   "role": "viewer"}]
