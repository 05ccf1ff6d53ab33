"""The room channel as its users see it: real server, real WebSockets, both engines."""

from __future__ import annotations

import asyncio

import pytest

from liveroom.client import ChannelClosed, CommandError, RoomClient

from ..helpers import public_id, token

ROOM = "thailand"


@pytest.fixture
async def connect(server):
    """Open clients on one server (started on first use); all closed at the end."""
    state = {"server": None, "clients": []}

    async def open_client(role: str | None = "viewer", user: str | None = None, **kwargs):
        if state["server"] is None:
            state["server"] = await server()
        tok = kwargs.pop("tok", None)
        if tok is None and role is not None:
            tok = token(ROOM, role, user=user or f"{role}-{len(state['clients'])}")
        client = RoomClient(state["server"].base_url, kwargs.pop("room", ROOM), token=tok,
                            **kwargs)
        state["clients"].append(client)
        await client.connect()
        return client

    open_client.state = state
    yield open_client
    for client in state["clients"]:
        await client.close()


async def test_joining_gives_a_welcome_and_a_snapshot_of_the_room(connect):
    host = await connect("host", user="host-1")
    await host.pin("durian")
    await host.chat("Sawasdee ka!")
    viewer = await connect("viewer", user="ann")
    # The room shows everyone, its owner too, by public id, never by user id.
    assert viewer.welcome["you"] == {"user_id": public_id(ROOM, "ann"), "name": "Ann",
                                     "role": "viewer",
                                     "guest": False, "muted_until": None}
    snapshot = viewer.snapshot
    assert snapshot["room"]["id"] == ROOM and snapshot["resync"] is False
    assert snapshot["pin"]["id"] == "durian"
    assert [p["id"] for p in snapshot["products"]] == ["durian", "mango"]
    assert [m["text"] for m in snapshot["chat"]] == ["Sawasdee ka!"]
    assert snapshot["viewers"] == 1  # the host is not audience
    assert isinstance(snapshot["seq"], int) and snapshot["epoch"]


async def test_a_chat_message_reaches_everyone_including_its_sender(connect):
    ann, bo = await connect(user="ann"), await connect(user="bo")
    ack = await ann.chat("hello from Shanghai")
    assert ack["type"] == "ack" and ack["message_id"]
    for client in (ann, bo):
        event = await client.next_event("chat.message")
        assert event["seq"] == ack["seq"]
        assert event["message"] | {"ts": 0} == {
            "id": ack["message_id"], "user_id": public_id(ROOM, "ann"), "name": "Ann",
            "role": "viewer",
            "text": "hello from Shanghai", "ts": 0,
        }


async def test_likes_are_aggregated_into_few_events(connect):
    ann, bo = await connect(user="ann"), await connect(user="bo")
    for _ in range(30):
        await ann.like()
    await bo.like(5)
    totals = []
    while not totals or totals[-1] < 35:
        totals.append((await bo.next_event("likes"))["total"])
    assert totals[-1] == 35
    assert len(totals) <= 3, f"35 taps became {len(totals)} events"


async def test_viewer_counts_follow_joins_and_leaves_at_most_once_a_second(connect):
    first = await connect(user="first")
    others = [await connect(user=f"v{i}") for i in range(5)]
    seen = await _viewer_counts_until(first, 6)
    for client in others[:3]:
        await client.close()
    seen += await _viewer_counts_until(first, 3)
    stamps = [at for at, _ in seen]
    assert all(b - a > 0.9 for a, b in zip(stamps, stamps[1:])), seen
    counts = [count for _, count in seen]
    assert all(a != b for a, b in zip(counts, counts[1:])), counts


async def _viewer_counts_until(client: RoomClient, wanted: int) -> list[tuple[float, int]]:
    """(arrival time, count) of each viewers event until the count is `wanted`."""
    seen = []
    loop = asyncio.get_running_loop()
    while not seen or seen[-1][1] != wanted:
        event = await client.next_event("viewers", timeout=5)
        seen.append((loop.time(), event["count"]))
    return seen


async def test_a_pin_shows_on_every_screen_and_an_unpin_clears_it(connect):
    moderator = await connect("moderator", user="mod")
    viewers = [await connect(user=f"v{i}") for i in range(3)]
    await moderator.pin("mango")
    for viewer in viewers:
        event = await viewer.next_event("product.pinned")
        assert event["product"]["id"] == "mango" and event["product"]["price"] == "890.00"
        assert event["by"] == public_id(ROOM, "mod")
    await moderator.unpin()
    for viewer in viewers:
        assert (await viewer.next_event("product.unpinned"))["by"] == public_id(ROOM, "mod")


async def test_a_moderator_deletes_a_message_for_everyone(connect):
    moderator, viewer = await connect("moderator", user="mod"), await connect(user="ann")
    ack = await viewer.chat("buy cheap watches at spam.example")
    await moderator.delete_message(ack["message_id"])
    event = await viewer.next_event("chat.deleted")
    assert event["message_id"] == ack["message_id"]
    late = await connect(user="late")
    assert late.snapshot["chat"] == []


async def test_a_muted_viewer_is_told_and_cannot_chat_until_unmuted(connect):
    moderator, loud = await connect("moderator", user="mod"), await connect(user="loud")
    ack = await moderator.mute("loud", 60)
    muted = await loud.next_event("user.muted")
    assert muted["user_id"] == public_id(ROOM, "loud") and muted["until"] == ack["until"]
    with pytest.raises(CommandError) as refused:
        await loud.chat("still here")
    assert refused.value.code == "muted" and refused.value.frame["until"] == ack["until"]
    second_tab = await connect(user="loud")
    assert second_tab.welcome["you"]["muted_until"] == ack["until"]
    await moderator.command("user.unmute", user_id="loud")
    await loud.chat("thanks")


async def test_a_banned_viewer_is_disconnected_everywhere_and_cannot_return(connect):
    moderator = await connect("moderator", user="mod")
    troll_tabs = [await connect(user="troll"), await connect(user="troll")]
    bystander = await connect(user="ann")
    await moderator.ban("troll")
    for tab in troll_tabs:
        with pytest.raises(ChannelClosed) as closed:
            while True:
                await tab.next_event()
        assert closed.value.code == 4403 and closed.value.error["code"] == "banned"
    with pytest.raises(ChannelClosed) as again:
        await connect(user="troll")
    assert again.value.code == 4403 and again.value.error["code"] == "banned"
    assert (await bystander.next_event("user.banned"))["user_id"] == public_id(ROOM, "troll")
    await bystander.chat("still fine")


async def test_slow_mode_spaces_viewer_messages(connect):
    moderator, viewer = await connect("moderator", user="mod"), await connect(user="ann")
    await moderator.slow_mode(10)
    assert (await viewer.next_event("room.slow_mode"))["seconds"] == 10
    await viewer.chat("first")
    with pytest.raises(CommandError) as slow:
        await viewer.chat("second")
    assert slow.value.code == "slow_mode" and slow.value.frame["retry_after_ms"] > 9000
    await moderator.chat("moderators are not slowed")
    await moderator.chat("not at all")


async def test_a_guest_watches_then_picks_a_name_to_chat_and_keeps_it_on_reconnect(connect):
    guest = await connect(role=None)
    you = guest.welcome["you"]
    assert you["guest"] and you["user_id"].startswith("u-") and you["name"] is None
    with pytest.raises(CommandError) as nameless:
        await guest.chat("hi")
    assert nameless.value.code == "name_required"
    await guest.set_name("Mei")
    await guest.chat("hi, I am Mei")
    again = await connect(role=None, tok=guest.token)
    assert again.welcome["you"] == you | {"name": "Mei"}
    await again.chat("still Mei after reconnecting")


async def test_a_token_without_a_name_may_pick_one_but_a_named_token_may_not(connect):
    nameless = await connect(tok=token(ROOM, user="shopper-7", name=""))
    with pytest.raises(CommandError) as refused:
        await nameless.chat("hello?")
    assert refused.value.code == "name_required"
    assert (await nameless.set_name("Ploy"))["guest_token"] is None
    assert (await nameless.chat("hello!"))["type"] == "ack"
    named = await connect(user="ann")
    with pytest.raises(CommandError) as fixed:
        await named.set_name("Someone Else")
    assert fixed.value.code == "forbidden"


async def test_a_viewer_cannot_run_moderator_commands(connect):
    viewer = await connect(user="ann")
    for cmd, fields in [("product.pin", {"product_id": "durian"}), ("user.ban",
                        {"user_id": "bo"}), ("room.slow_mode", {"seconds": 5})]:
        with pytest.raises(CommandError) as refused:
            await viewer.command(cmd, **fields)
        assert refused.value.code == "forbidden"
    await viewer.chat("still connected")


async def test_msgpack_clients_get_the_same_events_as_json_clients(connect):
    packed = await connect(user="packed", fmt="msgpack")
    plain = await connect(user="plain")
    await plain.chat("ciao")
    a = await packed.next_event("chat.message")
    b = await plain.next_event("chat.message")
    assert a == b


async def test_a_client_that_resumes_gets_exactly_what_it_missed(connect):
    speaker = await connect(user="speaker")
    listener = await connect(user="listener")
    await speaker.chat("one")
    await listener.next_event("chat.message")
    epoch, seq = listener.epoch, listener.seq
    await listener.close()
    for text in ("two", "three"):
        await speaker.chat(text)
    resumed = RoomClient(connect.state["server"].base_url, ROOM,
                         token=token(ROOM, user="listener"))
    resumed.epoch, resumed.seq = epoch, seq
    await resumed.connect()
    try:
        assert resumed.snapshot is None  # nothing re-sent but what was missed
        texts = [(await resumed.next_event("chat.message"))["message"]["text"] for _ in "ab"]
        assert texts == ["two", "three"]
        await speaker.chat("four")
        assert (await resumed.next_event("chat.message"))["message"]["text"] == "four"
    finally:
        await resumed.close()


async def test_a_resume_from_an_unknown_position_gets_a_fresh_snapshot_marked_resync(connect):
    await connect(user="warm")
    stale = RoomClient(connect.state["server"].base_url, ROOM, token=token(ROOM, user="old"))
    stale.epoch, stale.seq = "no-such-epoch", 3
    await stale.connect()
    try:
        assert stale.snapshot["resync"] is True
        assert (await stale.next_event("snapshot"))["resync"] is True
    finally:
        await stale.close()


async def test_the_client_reconnects_by_itself_and_resumes(connect):
    speaker, listener = await connect(user="speaker"), await connect(user="listener")
    await speaker.chat("before")
    await listener.next_event("chat.message")
    listener._ws._conn.transport.abort()  # the network drops: no close handshake
    await speaker.chat("during")
    event = await listener.next_event("chat.message")
    assert event["message"]["text"] == "during" and listener.reconnects == 1


async def test_staff_cannot_be_banned_or_muted_and_a_ban_never_locks_out_a_host(connect):
    moderator = await connect("moderator", user="mod")
    host = await connect("host", user="exporter")
    for action in (moderator.ban("exporter"), moderator.mute("exporter", 60)):
        with pytest.raises(CommandError) as refused:
            await action
        assert refused.value.code == "forbidden" and "host" in refused.value.message
    # A viewer banned under a user id the exporter later signs in with as host: the ban, meant
    # for the audience, does not keep the host out of their own room.
    await connect(user="later-host")
    await moderator.ban("later-host")
    again = await connect("host", user="later-host")
    await again.chat("still my room")
    await host.chat("and mine")


async def test_a_replay_page_shops_in_the_room_without_counting_as_a_live_viewer(connect):
    """A shopper on a replay keeps the channel to see and buy the products, but is not in the
    live show's audience: not in the count, not among the members, a guest's name included."""
    await connect(user="ann")
    replay = await connect(user="bo", watch="replay")
    guest = await connect(None, watch="replay")  # a guest, who picks a name
    await guest.set_name("Chai")
    assert replay.snapshot["viewers"] == 1  # ann, watching live
    moderator = await connect("moderator", user="mod")
    assert moderator.snapshot["viewers"] == 1
    members = (await moderator.command("presence.list"))["members"]
    assert sorted(m["name"] for m in members) == ["Ann", "Mod"]
    await moderator.pin("mango")
    assert (await replay.next_event("product.pinned"))["product"]["id"] == "mango"
    order = await replay.buy_product("mango")
    assert order["order"]["quantity"] == 1
