"""User ids are often e-mail addresses; a room shows everything its people say and do to
everyone in it. Nothing the room channel sends to a viewer carries a user id: chat, moderation,
sales and presence show an opaque public id, stable for a user in a room, different in another
room, which moderators act on and which is all a viewer's page knows of itself."""

from __future__ import annotations

import json

import aiohttp
import pytest

from liveroom.client import ChannelClosed, RoomClient
from liveroom.domain.public_ids import public_user_id

from ..conftest import demo_room
from ..helpers import SECRET, token

ROOM = "thailand"
ANN = "ann.lee@example.com"
MOD = "mei.moderator@shop.example"


async def _watch(base_url: str, room: str = ROOM):
    """A viewer that records every frame it is sent, as sent."""
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(
        f"{base_url}/ws/rooms/{room}?access_token={token(room, user='watcher')}")
    return session, ws


async def _frames_until(ws, predicate) -> list[str]:
    seen = []
    while True:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        seen.append(msg.data)
        if predicate(json.loads(msg.data)):
            return seen


async def test_no_frame_a_viewer_gets_names_a_user_id(server):
    srv = await server()
    session, watcher = await _watch(srv.base_url)
    try:
        mod = RoomClient(srv.base_url, ROOM, token=token(ROOM, role="moderator", user=MOD,
                                                         name="Mei"))
        ann = RoomClient(srv.base_url, ROOM, token=token(ROOM, user=ANN, name="Ann"))
        async with mod, ann:
            await ann.chat("hello, is the durian ripe?")
            shown = (await ann.next_event("chat.message"))["message"]["user_id"]
            assert shown == public_user_id(SECRET, ROOM, ANN) == ann.welcome["you"]["user_id"]
            await mod.pin("durian")
            sale = await mod.create_sale("durian", stock=5, duration=60)
            await mod.chat("ripe today")
            await mod.mute(shown, 60)  # the id the moderator sees is the one they act on
            members = (await mod.command("presence.list"))["members"]
            assert {m["user_id"] for m in members} >= {shown}
            assert not {ANN, MOD} & {m["user_id"] for m in members}
            await mod.ban(shown)
            with pytest.raises(ChannelClosed) as banned:
                await ann.next_event("never")
            assert banned.value.code == 4403
        frames = await _frames_until(watcher, lambda f: f["type"] == "user.banned")
        kinds = {json.loads(f)["type"] for f in frames}
        assert {"welcome", "snapshot", "chat.message", "product.pinned", "sale.started",
                "user.muted", "user.banned"} <= kinds, kinds
        assert sale["created_by"] == public_user_id(SECRET, ROOM, MOD)
        for frame in frames:
            assert ANN not in frame and MOD not in frame, frame
        async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user="later")) as later:
            snapshot = json.dumps(later.snapshot)
            assert ANN not in snapshot and MOD not in snapshot
            assert shown in snapshot  # the chat tail names Ann by her public id
        refused = RoomClient(srv.base_url, ROOM, token=token(ROOM, user=ANN, name="Ann"),
                             reconnect=False)
        with pytest.raises(ChannelClosed) as again:
            await refused.connect()
        assert again.value.error["code"] == "banned"
    finally:
        await watcher.close()
        await session.close()


async def test_a_public_id_is_stable_in_a_room_and_differs_between_rooms(server):
    srv = await server()
    await srv.app_engine.store.create_room(demo_room("chile", title="Chile live"))
    seen = []
    for room in (ROOM, ROOM, "chile"):
        async with RoomClient(srv.base_url, room, token=token(room, user=ANN)) as ann:
            seen.append(ann.welcome["you"]["user_id"])
    assert seen[0] == seen[1] != seen[2]
    assert all(ANN not in s and s.startswith("u-") for s in seen)


async def test_a_tool_that_knows_the_user_id_can_still_moderate_by_it(server):
    srv = await server()
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, role="moderator", user=MOD)) \
            as mod, RoomClient(srv.base_url, ROOM, token=token(ROOM, user=ANN)) as ann:
        await mod.mute(ANN, 60)
        muted = await ann.next_event("user.muted")
        assert muted["user_id"] == ann.welcome["you"]["user_id"]
        await mod.command("user.unmute", user_id=muted["user_id"])
        assert (await ann.next_event("user.unmuted"))["user_id"] == muted["user_id"]


async def test_a_buyer_hears_their_order_settled_without_the_hosts_user_id(server):
    srv = await server()
    host = "siam.owner@orchard.example"
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user=ANN, name="Ann")) as ann:
        order = (await ann.buy_product("durian", 1))["order"]
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{srv.base_url}/api/rooms/{ROOM}/orders/{order['id']}/pay",
                headers={"Authorization": f"Bearer {token(ROOM, role='host', user=host)}"})
            assert response.status == 200, await response.text()
        updated = await ann.next_event("order.updated")
        assert updated["order"]["status"] == "paid"
        assert host not in json.dumps(updated)
        assert updated["order"]["settled_by"] == public_user_id(SECRET, ROOM, host)
