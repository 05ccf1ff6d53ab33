"""The lobby's live feed (Server-Sent Events): the public rooms, then each room as it changes,
rooms that come and go; no polling. Both engines."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from liveroom.client import RoomClient

from ..helpers import admin_token, bearer, token

ROOM = "thailand"


class Feed:
    """The events of one reader of /api/lobby/events."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, *kinds: str, timeout: float = 15.0) -> tuple[str, dict]:
        async with asyncio.timeout(timeout):
            while True:
                kind, data = await self._one()
                if not kinds or kind in kinds:
                    return kind, data

    async def _one(self) -> tuple[str, dict]:
        kind, data = None, None
        while True:
            line = (await self.response.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and kind is not None:
                return kind, data

    async def room(self, room_id: str, predicate, timeout: float = 15.0) -> dict:
        """The next summary of a room for which predicate(summary) holds."""
        async with asyncio.timeout(timeout):
            while True:
                kind, data = await self.next("room", "rooms")
                summaries = data["rooms"] if kind == "rooms" else [data]
                for summary in summaries:
                    if summary["id"] == room_id and predicate(summary):
                        return summary


async def _open(http: aiohttp.ClientSession, srv) -> Feed:
    response = await http.get(f"{srv.base_url}/api/lobby/events",
                              headers={"Accept": "text/event-stream"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    return Feed(response)


async def test_the_feed_lists_the_rooms_then_follows_each(server):
    srv = await server()
    async with aiohttp.ClientSession() as http:
        feed = await _open(http, srv)
        kind, data = await feed.next()
        assert kind == "rooms"
        assert [(r["id"], r["viewers"], r["live"]) for r in data["rooms"]] == [(ROOM, 0, False)]

        async with RoomClient(srv.base_url, ROOM, token=token(ROOM)):
            summary = await feed.room(ROOM, lambda r: r["viewers"] == 1)
            assert summary["title"] == "Thailand live"
        async with RoomClient(srv.base_url, ROOM, token=token(ROOM, "host")) as host:
            await host.pin("durian")
            summary = await feed.room(ROOM, lambda r: r["pin"] is not None)
            assert summary["pin"]["id"] == "durian"
            await host.create_sale("durian", stock=5, duration=60, price="99")
            summary = await feed.room(ROOM, lambda r: r["sales"])
            assert summary["sales"][0]["state"] == "live"


async def test_rooms_that_open_and_close_come_and_go_and_private_ones_never_show(server):
    srv = await server()
    operator = bearer(admin_token())
    async with aiohttp.ClientSession() as http:
        feed = await _open(http, srv)
        await feed.next("rooms")
        for room_id, public in (("chile", True), ("backroom", False)):
            created = await http.post(f"{srv.base_url}/api/rooms", headers=operator, json={
                "id": room_id, "title": f"{room_id} live", "country": "Chile",
                "country_code": "CL", "public": public})
            assert created.status == 201
        kind, data = await feed.next("rooms", timeout=20)  # the list is read again now and then
        assert sorted(r["id"] for r in data["rooms"]) == ["chile", ROOM]
        deleted = await http.delete(f"{srv.base_url}/api/rooms/chile", headers=operator)
        assert deleted.status == 204
        kind, data = await feed.next("removed")
        assert data == {"id": "chile"}
