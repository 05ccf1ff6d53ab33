"""The limits an operator sets: connections per instance and per room, request body size. At a
limit a new client gets a precise refusal at once, never a hang."""

from __future__ import annotations

import aiohttp
import pytest

from liveroom.client import ChannelClosed, RoomClient

from ..conftest import demo_room
from ..helpers import admin_token, eventually, token

ROOM = "thailand"


@pytest.fixture
def engine_kind():
    """Limits are counted by the instance, whatever the engine."""
    return "memory"


async def _refused(base_url: str, room: str = ROOM) -> ChannelClosed:
    client = RoomClient(base_url, room, token=token(room, user="late"), reconnect=False)
    with pytest.raises(ChannelClosed) as refused:
        await client.connect()
    await client.close()
    return refused.value


async def test_past_the_instance_limit_a_client_is_refused_with_1013_and_a_reason(server):
    srv = await server(max_connections=2)
    first = await RoomClient(srv.base_url, ROOM, token=token(ROOM, user="a")).connect()
    second = await RoomClient(srv.base_url, ROOM, token=token(ROOM, user="b")).connect()
    try:
        refused = await _refused(srv.base_url)
        assert refused.code == 1013
        assert refused.error["code"] == "too_many_connections"
        assert refused.error["scope"] == "instance" and refused.error["limit"] == 2
        assert refused.error["retry_after_ms"] > 0
        await first.close()

        async def admitted():  # the place is given back when a client leaves
            client = RoomClient(srv.base_url, ROOM, token=token(ROOM, user="c"),
                                reconnect=False)
            try:
                await client.connect()
                return True
            except ChannelClosed:
                return False
            finally:
                await client.close()
        await eventually(admitted, what="a place to free up")
    finally:
        await first.close()
        await second.close()


async def test_past_the_room_limit_only_that_room_refuses(server):
    srv = await server(max_room_connections=1)
    await srv.app_engine.store.create_room(demo_room("chile", title="Chile live"))
    inside = await RoomClient(srv.base_url, ROOM, token=token(ROOM, user="a")).connect()
    elsewhere = await RoomClient(srv.base_url, "chile", token=token("chile", user="b")).connect()
    try:
        refused = await _refused(srv.base_url)
        assert (refused.code, refused.error["code"]) == (1013, "too_many_connections")
        assert refused.error["scope"] == "room" and "thailand" in refused.error["message"]
        async with aiohttp.ClientSession() as http:
            text = await (await http.get(f"{srv.base_url}/metrics")).text()
        assert 'liveroom_connections_refused_total{reason="room_limit"} 1.0' in text
    finally:
        await inside.close()
        await elsewhere.close()


async def test_a_body_over_the_configured_size_is_refused_with_413(server):
    srv = await server(max_body_bytes=1024)
    headers = {"Authorization": f"Bearer {admin_token()}"}
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{srv.base_url}/api/rooms", headers=headers, json={
            "id": "big", "title": "x", "country": "Thailand", "country_code": "TH",
            "description": "d" * 2000})
        assert response.status == 413
        body = await response.json()
        assert body["error"]["code"] == "payload_too_large" and "1024" in body["error"]["message"]
        response = await http.post(f"{srv.base_url}/api/rooms", headers=headers, json={
            "id": "small", "title": "x", "country": "Thailand", "country_code": "TH"})
        assert response.status == 201
