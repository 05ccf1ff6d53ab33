"""A moderator bans a spammer and takes their recent messages down with them, for everyone.
Both engines."""

from __future__ import annotations

import pytest

from liveroom.client import CommandError, RoomClient

from ..helpers import token

ROOM = "thailand"


async def test_a_ban_can_remove_the_users_recent_messages(server):
    srv = await server()
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, "moderator", user="mod")) as mod, \
            RoomClient(srv.base_url, ROOM, token=token(ROOM, user="spam", name="Spam")) as spam, \
            RoomClient(srv.base_url, ROOM, token=token(ROOM, user="ann", name="Ann")) as ann:
        spammed = [(await spam.chat(f"cheap followers {i}"))["message_id"] for i in range(3)]
        kept = (await ann.chat("Is the durian ripe?"))["message_id"]
        ack = await mod.command("user.ban", user_id="spam", remove_messages=True)
        assert ack["removed"] == 3
        deleted = set()
        while len(deleted) < 3:
            event = await ann.next_event("chat.deleted")
            deleted.add(event["message_id"])
        assert deleted == set(spammed)
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM)) as late:
        assert [m["id"] for m in late.snapshot["chat"]] == [kept]


async def test_a_plain_ban_keeps_the_messages_and_a_bad_flag_is_refused(server):
    srv = await server()
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, "moderator", user="mod")) as mod, \
            RoomClient(srv.base_url, ROOM, token=token(ROOM, user="bo", name="Bo")) as bo:
        said = (await bo.chat("hello"))["message_id"]
        with pytest.raises(CommandError) as bad:
            await mod.command("user.ban", user_id="bo", remove_messages="yes")
        assert (bad.value.code, bad.value.frame["field"]) == ("invalid_field", "remove_messages")
        assert (await mod.command("user.ban", user_id="bo"))["removed"] == 0
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM)) as late:
        assert [m["id"] for m in late.snapshot["chat"]] == [said]
