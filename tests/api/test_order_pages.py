"""Every order listing comes in pages (?limit=, ?after=), JSON and CSV, that join up exactly."""

from __future__ import annotations

import csv
import io

from liveroom.client import RoomClient

from ..helpers import bearer, token

ROOM = "thailand"


async def _orders(api, count: int) -> tuple[dict, list[dict]]:
    response = await api.post(f"/api/rooms/{ROOM}/sales", headers=bearer(token(ROOM, "host")),
                              json={"product_id": "durian", "stock": 50, "per_user_limit": 5,
                                    "duration": 60})
    sale = await response.json()
    made = []
    for i in range(count):
        async with RoomClient(api.srv.base_url, ROOM,
                              token=token(ROOM, user=f"u{i % 2}")) as client:
            made.append((await client.buy(sale["id"], 1))["order"])
    return sale, made


async def _follow(api, path: str, headers: dict) -> tuple[list[list[dict]], list[str]]:
    pages, links = [], []
    while path:
        response = await api.get(path, headers=headers)
        assert response.status == 200, await response.text()
        body = await response.json()
        pages.append(body["orders"])
        links.append(response.headers.get("Link", ""))
        path = f"{path.split('&after=')[0]}&after={body['next']}" if body["next"] else None
    return pages, links


async def test_order_listings_come_in_pages_that_join_up_exactly(api):
    sale, made = await _orders(api, 7)
    host = bearer(token(ROOM, "host"))
    everything = (await (await api.get(f"/api/rooms/{ROOM}/orders", headers=host)).json())
    assert everything["next"] is None and len(everything["orders"]) == 7
    pages, links = await _follow(api, f"/api/rooms/{ROOM}/orders?limit=3", host)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [o for p in pages for o in p] == everything["orders"]
    assert links[0].endswith('rel="next"') and f"after={pages[0][-1]['id']}" in links[0]
    assert links[-1] == ""
    by_sale, _ = await _follow(api, f"/api/rooms/{ROOM}/sales/{sale['id']}/orders?limit=2",
                               host)
    assert [o for p in by_sale for o in p] == everything["orders"]
    mine, _ = await _follow(api, f"/api/rooms/{ROOM}/orders/mine?limit=2",
                            bearer(token(ROOM, user="u1")))
    assert [o["id"] for p in mine for o in p] == [o["id"] for o in made if o["user_id"] == "u1"]
    # CSV: each page a file with its header, the next one named in Link.
    first = await api.get(f"/api/rooms/{ROOM}/orders?format=csv&limit=4", headers=host)
    rows = list(csv.DictReader(io.StringIO(await first.text())))
    assert [r["id"] for r in rows] == [o["id"] for o in everything["orders"][:4]]
    following = first.headers["Link"].split(">")[0].lstrip("<")
    rest = await api.get(following, headers=host)
    assert [r["id"] for r in csv.DictReader(io.StringIO(await rest.text()))] == [
        o["id"] for o in everything["orders"][4:]]
    assert "Link" not in rest.headers


async def test_bad_page_parameters_are_refused_with_the_field(api):
    host = bearer(token(ROOM, "host"))
    for query, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
                         ("after=ord_nope", "after"), ("after=" + "x" * 65, "after")):
        response = await api.get(f"/api/rooms/{ROOM}/orders?{query}", headers=host)
        error = (await response.json())["error"]
        assert (response.status, error["code"], error["field"]) == (400, "invalid_field",
                                                                     field), query


async def test_a_buyers_orders_on_the_channel_come_in_pages_too(api):
    await _orders(api, 3)
    async with RoomClient(api.srv.base_url, ROOM, token=token(ROOM, user="u0")) as client:
        first = await client.command("orders.mine", limit=1)
        assert len(first["orders"]) == 1 and first["next"] == first["orders"][0]["id"]
        second = await client.command("orders.mine", limit=5, after=first["next"])
        assert len(second["orders"]) == 1 and second["next"] is None
        assert [o["id"] for o in await client.my_orders()] == [
            first["orders"][0]["id"], second["orders"][0]["id"]]
