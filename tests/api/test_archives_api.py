"""An operator deletes a room in the middle of a flash sale: no acknowledged order is lost.
The archive is read, settled, exported and only then purged over REST."""

from __future__ import annotations

import csv
import io

from liveroom.client import RoomClient

from ..helpers import admin_token, bearer, token

ROOM = "thailand"


async def _sale_with_orders(api, buyers: int) -> list[dict]:
    response = await api.post(f"/api/rooms/{ROOM}/sales", headers=bearer(token(ROOM, "host")),
                              json={"product_id": "durian", "stock": 50, "duration": 600})
    sale = await response.json()
    orders = []
    for i in range(buyers):
        async with RoomClient(api.srv.base_url, ROOM, token=token(ROOM, user=f"b{i}")) as c:
            orders.append((await c.buy(sale["id"], 1))["order"])
    return orders


async def test_deleting_a_room_mid_sale_loses_no_acknowledged_order(api):
    admin = bearer(admin_token())
    orders = await _sale_with_orders(api, 3)
    await api.post(f"/api/rooms/{ROOM}/orders/{orders[0]['id']}/pay", headers=admin)
    assert (await api.delete(f"/api/rooms/{ROOM}", headers=admin)).status == 204
    assert (await api.get(f"/api/rooms/{ROOM}")).status == 404

    listed = (await (await api.get("/api/archives", headers=admin)).json())["archives"]
    assert [(a["room"]["id"], a["orders"], a["reserved"], a["purgeable"]) for a in listed] == [
        (ROOM, 3, 2, False)]
    kept = (await (await api.get(f"/api/archives/{ROOM}/orders", headers=admin)).json())
    assert [o["id"] for o in kept["orders"]] == [o["id"] for o in orders]
    refused = await api.delete(f"/api/archives/{ROOM}", headers=admin)
    error = (await refused.json())["error"]
    assert refused.status == 409 and error["code"] == "not_purgeable" and error["reserved"] == 2
    taken = await api.post("/api/rooms", headers=admin, json={
        "id": ROOM, "title": "Again", "country": "Thailand", "country_code": "TH"})
    assert (await taken.json())["error"]["code"] == "conflict"

    # The shop settles what is left; reading every order (CSV, page by page) exports it.
    for order, action in ((orders[1], "pay"), (orders[2], "cancel")):
        settled = await api.post(f"/api/archives/{ROOM}/orders/{order['id']}/{action}",
                                 headers=admin)
        assert settled.status == 200
    first = await api.get(f"/api/archives/{ROOM}/orders?format=csv&limit=2", headers=admin)
    assert not (await (await api.get(f"/api/archives/{ROOM}",
                                     headers=admin)).json())["exported_at"]  # not to the end
    last = await api.get(first.headers["Link"].split(">")[0].lstrip("<"), headers=admin)
    statuses = [r["status"] for text in (await first.text(), await last.text())
                for r in csv.DictReader(io.StringIO(text))]
    assert statuses == ["paid", "paid", "cancelled"]
    archive = await (await api.get(f"/api/archives/{ROOM}", headers=admin)).json()
    assert archive["exported_at"] and archive["settled"] and archive["purgeable"]

    assert (await api.delete(f"/api/archives/{ROOM}", headers=admin)).status == 204
    assert (await api.get(f"/api/archives/{ROOM}", headers=admin)).status == 404
    again = await api.post("/api/rooms", headers=admin, json={
        "id": ROOM, "title": "Again", "country": "Thailand", "country_code": "TH"})
    assert again.status == 201


async def test_archives_are_the_operators_alone(api):
    await _sale_with_orders(api, 1)
    await api.delete(f"/api/rooms/{ROOM}", headers=bearer(admin_token()))
    for headers, status in (({}, 401), (bearer(token(ROOM, "host")), 403)):
        for path in ("/api/archives", f"/api/archives/{ROOM}", f"/api/archives/{ROOM}/orders"):
            assert (await api.get(path, headers=headers)).status == status, path
        assert (await api.delete(f"/api/archives/{ROOM}", headers=headers)).status == status
    missing = await api.get("/api/archives/nowhere", headers=bearer(admin_token()))
    assert (await missing.json())["error"]["code"] == "room_not_found"


async def test_a_dead_webhook_can_be_given_up_so_that_the_archive_may_go(api):
    admin = bearer(admin_token())
    await api.put(f"/api/rooms/{ROOM}/webhook", headers=admin,
                  json={"url": "http://127.0.0.1:9/gone", "secret": "hook-secret-0123456789"})
    [order] = await _sale_with_orders(api, 1)
    await api.post(f"/api/rooms/{ROOM}/orders/{order['id']}/pay", headers=admin)
    await api.delete(f"/api/rooms/{ROOM}", headers=admin)
    await api.get(f"/api/archives/{ROOM}/orders", headers=admin)  # read to the end: exported
    archive = await (await api.get(f"/api/archives/{ROOM}", headers=admin)).json()
    assert archive["exported_at"] and archive["undelivered"] >= 1 and not archive["purgeable"]
    assert (await api.delete(f"/api/archives/{ROOM}", headers=admin)).status == 409
    assert (await api.delete(f"/api/archives/{ROOM}/webhook", headers=admin)).status == 204
    assert (await api.delete(f"/api/archives/{ROOM}", headers=admin)).status == 204
