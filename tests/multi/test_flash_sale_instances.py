"""Flash sales across real server processes on one Redis: the crowd, and a crash mid-sale."""

from __future__ import annotations

import asyncio
import collections

import aiohttp
import pytest

from liveroom.client import RoomClient

from ..channel.test_flash_sale import _check_no_oversell
from ..helpers import admin_token, create_room, token
from ..swarm import LOST, swarm

pytestmark = pytest.mark.multi

ROOM = "thailand"


async def _start_sale(url: str, stock: int, limit: int, duration: int = 120) -> dict:
    async with RoomClient(url, ROOM, token=token(ROOM, "moderator", user="mod")) as moderator:
        return await moderator.create_sale("durian", stock=stock, per_user_limit=limit,
                                           duration=duration)


async def test_two_thousand_buyers_on_two_instances_buy_exactly_the_stock(shared_redis,
                                                                          start_servers):
    one, two = start_servers(shared_redis)
    await create_room(one.url, with_product=True)
    sale = await _start_sale(one.url, stock=100, limit=2)
    crowd = await swarm([one.url, two.url], ROOM, sale["id"], buyers=2000, quantity=2,
                        replays=400)
    _check_no_oversell(crowd, stock=100, limit=2)
    async with aiohttp.ClientSession() as http:
        view = await (await http.get(f"{two.url}/api/rooms/{ROOM}/sales/{sale['id']}")).json()
        assert (view["remaining"], view["sold"]) == (0, 100)


async def test_a_killed_instance_mid_sale_loses_no_acknowledged_order(private_redis,
                                                                      start_servers):
    one, two = start_servers(private_redis)
    await create_room(one.url, with_product=True)
    sale = await _start_sale(one.url, stock=600, limit=1)
    connected = asyncio.Event()
    load = asyncio.create_task(swarm([one.url, two.url], ROOM, sale["id"], buyers=1000,
                                     spread=3.0, connected=connected))
    await connected.wait()
    await asyncio.sleep(1.2)  # a third of the crowd has pressed buy
    two.kill()
    crowd = await load
    answers = collections.Counter(b.answers[0]["type"] for b in crowd)
    assert answers["ack"] > 0 and answers["lost"] > 0, answers
    acknowledged = {b.answers[0]["order"]["id"] for b in crowd if b.answers[0]["type"] == "ack"}
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {admin_token()}"}
        orders, after = [], ""
        while True:  # every page of the listing
            response = await http.get(f"{one.url}/api/rooms/{ROOM}/orders?limit=1000{after}",
                                      headers=headers)
            page = await response.json()
            orders += page["orders"]
            if not page["next"]:
                break
            after = f"&after={page['next']}"
        view = await (await http.get(f"{one.url}/api/rooms/{ROOM}/sales/{sale['id']}")).json()
    stored = {o["id"] for o in orders}
    assert acknowledged <= stored  # no order a buyer saw acknowledged is missing
    held = sum(o["quantity"] for o in orders if o["status"] in ("reserved", "paid"))
    assert held + view["remaining"] == 600 and view["sold"] == held
    # Only buyers on the killed instance went unanswered; the survivor answered everyone.
    assert all(b.url == two.url for b in crowd if b.answers[0] is LOST)
