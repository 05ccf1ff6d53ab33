"""Several real `liveroom serve` processes sharing one real Redis, as behind a load balancer."""

from __future__ import annotations

import aiohttp
import pytest

from liveroom.client import ChannelClosed, RoomClient

from ..helpers import create_room, eventually, public_id, token

pytestmark = pytest.mark.multi
ROOM = "thailand"


async def _ready(base_url: str) -> int:
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(f"{base_url}/readyz") as response:
                return response.status
        except aiohttp.ClientError:
            return 0


async def test_everything_in_a_room_reaches_viewers_on_every_instance(shared_redis, start_servers):
    one, two = start_servers(shared_redis)
    await create_room(one.url, with_product=True)
    moderator = RoomClient(one.url, ROOM, token=token(ROOM, "moderator", user="mod"))
    ann = RoomClient(one.url, ROOM, token=token(ROOM, user="ann"))
    bo = RoomClient(two.url, ROOM, token=token(ROOM, user="bo"))
    troll = RoomClient(two.url, ROOM, token=token(ROOM, user="troll"))
    clients = [moderator, ann, bo, troll]
    for client in clients:
        await client.connect()
    try:
        await moderator.pin("durian")
        for client in clients:
            assert (await client.next_event("product.pinned"))["product"]["id"] == "durian"
        await bo.chat("hello from instance two")
        assert (await ann.next_event("chat.message"))["message"]["text"] == \
            "hello from instance two"
        await ann.like(7)
        assert (await bo.next_event("likes"))["total"] == 7
        await eventually(lambda: all(c.viewers == 3 for c in clients), timeout=5,
                         what="every instance to show 3 viewers (the moderator is staff)")
        await moderator.ban("troll")
        with pytest.raises(ChannelClosed) as closed:
            while True:
                await troll.next_event()
        assert closed.value.code == 4403
        assert (await bo.next_event("user.banned"))["user_id"] == public_id(ROOM, "troll")
        await eventually(lambda: ann.viewers == bo.viewers == 2, timeout=5, what="2 viewers")
    finally:
        for client in clients:
            await client.close()


async def test_a_killed_instance_drops_out_of_the_viewer_count(shared_redis, start_servers):
    one, two = start_servers(shared_redis)
    await create_room(one.url, with_product=True)
    watcher = RoomClient(one.url, ROOM, token=token(ROOM, user="watcher"))
    doomed = [RoomClient(two.url, ROOM, token=token(ROOM, user=f"d{i}"), reconnect=False)
              for i in range(3)]
    for client in [watcher, *doomed]:
        await client.connect()
    try:
        await eventually(lambda: watcher.viewers == 4, timeout=5, what="4 viewers")
        two.kill()
        # Presence TTL in these tests is 3 s; the bound is 10 s.
        await eventually(lambda: watcher.viewers == 1, timeout=10,
                         what="the killed instance's viewers to leave the count")
    finally:
        for client in [watcher, *doomed]:
            await client.close()


async def test_a_restarted_redis_is_reconnected_and_clients_are_not_dropped(
    private_redis, start_servers
):
    one, two = start_servers(private_redis)
    await create_room(one.url, with_product=True)
    ann = RoomClient(one.url, ROOM, token=token(ROOM, user="ann"))
    bo = RoomClient(two.url, ROOM, token=token(ROOM, user="bo"))
    for client in (ann, bo):
        await client.connect()
    try:
        await ann.chat("before")
        assert (await bo.next_event("chat.message"))["message"]["text"] == "before"
        private_redis.stop()
        assert await eventually(lambda: _is(_ready(one.url), 503), what="not ready")
        with pytest.raises(Exception) as refused:
            await ann.chat("while down")
        assert getattr(refused.value, "code", None) == "unavailable"
        private_redis.start()
        assert await eventually(lambda: _is(_ready(two.url), 200), timeout=10, what="ready")
        assert await eventually(lambda: _chat_gets_through(ann, "after"), timeout=10,
                                what="a chat after the restart")
        texts = []
        while "after" not in texts:
            texts.append((await bo.next_event("chat.message"))["message"]["text"])
        assert "while down" not in texts
        assert ann.reconnects == 0 and bo.reconnects == 0  # nobody was dropped
    finally:
        for client in (ann, bo):
            await client.close()


async def test_a_cut_subscriber_is_healed_through_sequence_numbers(private_redis, start_servers):
    fast = {"LIVEROOM_CHAT_PER_SECOND": "1000", "LIVEROOM_CHAT_BURST": "1000",
            "LIVEROOM_COMMANDS_PER_SECOND": "1000"}
    one, two = start_servers(private_redis, extra_env=fast)
    await create_room(one.url, with_product=True)
    speaker = RoomClient(one.url, ROOM, token=token(ROOM, "moderator", user="speaker"))
    listener = RoomClient(two.url, ROOM, token=token(ROOM, user="listener"))
    for client in (speaker, listener):
        await client.connect()
    redis = private_redis.client()
    try:
        sent = []
        for i in range(60):
            await speaker.chat(f"m{i}")
            sent.append(f"m{i}")
            if i % 10 == 5:
                # What Redis does to a subscriber past its output buffer limit: hang up on it.
                redis.client_kill_filter(_type="pubsub")
        received = []
        while len(received) < len(sent):
            event = await listener.next_event("chat.message", "snapshot", timeout=10)
            assert event["type"] == "chat.message", "healed by a resync instead of history"
            received.append(event["message"]["text"])
        assert received == sent
    finally:
        redis.close()
        for client in (speaker, listener):
            await client.close()


async def _is(awaitable, expected) -> bool:
    return await awaitable == expected


async def _chat_gets_through(client: RoomClient, text: str) -> bool:
    try:
        await client.chat(text)
        return True
    except Exception:
        return False
