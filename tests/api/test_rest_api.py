"""The REST API: rooms, products, health; errors always JSON with a code. Both engines."""

from __future__ import annotations

import aiohttp
import pytest

from liveroom.client import RoomClient

from ..helpers import admin_token, bearer, token

ROOM = "thailand"


async def _error(response: aiohttp.ClientResponse, status: int, code: str) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


async def test_health_and_readiness(api):
    assert (await (await api.get("/healthz")).json()) == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"


async def test_the_room_list_shows_viewer_counts_and_pins(api):
    async with RoomClient(api.srv.base_url, ROOM, token=token(ROOM, "host")) as host, \
            RoomClient(api.srv.base_url, ROOM, token=token(ROOM)) as _viewer:
        await host.pin("durian")
        rooms = (await (await api.get("/api/rooms")).json())["rooms"]
        assert [r["id"] for r in rooms] == [ROOM]
        assert rooms[0]["viewers"] == 1 and rooms[0]["pin"]["id"] == "durian"
        one = await (await api.get(f"/api/rooms/{ROOM}")).json()
        assert one["title"] == "Thailand live" and one["viewers"] == 1


async def test_an_operator_creates_updates_and_deletes_rooms(api):
    op = bearer(admin_token())
    created = await api.post("/api/rooms", json={
        "id": "chile", "title": "Chile live", "country": "Chile", "country_code": "CL",
    }, headers=op)
    assert created.status == 201 and (await created.json())["public"] is True
    await _error(await api.post("/api/rooms", json={
        "id": "chile", "title": "again", "country": "Chile", "country_code": "CL"},
        headers=op), 409, "conflict")
    async with RoomClient(api.srv.base_url, "chile", token=token("chile")) as viewer:
        patched = await api.patch("/api/rooms/chile", json={"title": "¡Chile en vivo!"},
                                  headers=op)
        assert patched.status == 200
        assert (await viewer.next_event("room.updated"))["room"]["title"] == "¡Chile en vivo!"
        assert (await api.delete("/api/rooms/chile", headers=op)).status == 204
        assert (await viewer.next_event("room.deleted"))["room_id"] == "chile"
    await _error(await api.get("/api/rooms/chile"), 404, "room_not_found")
    await _error(await api.delete("/api/rooms/chile", headers=op), 404, "room_not_found")


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Basic abc"}, 401, "unauthorized"),
    ({"Authorization": "Bearer nonsense"}, 401, "invalid_token"),
    (bearer(token(ROOM, "host")), 403, "forbidden"),
    (bearer(token(ROOM, "admin")), 403, "forbidden"),  # an admin of one room is no operator
])
async def test_only_an_operator_may_create_rooms(api, headers, status, code):
    body = {"id": "italy", "title": "Italia", "country": "Italy", "country_code": "IT"}
    await _error(await api.post("/api/rooms", json=body, headers=headers), status, code)


@pytest.mark.parametrize("body, field", [
    ({"id": "Bad Id", "title": "t", "country": "c", "country_code": "IT"}, "id"),
    ({"id": "italy", "title": "", "country": "c", "country_code": "IT"}, "title"),
    ({"id": "italy", "title": "t", "country": "c", "country_code": "ita"}, "country_code"),
    ({"id": "italy", "title": "t", "country": "c"}, "country_code"),
    ({"id": "italy", "title": "t", "country": "c", "country_code": "IT", "x": 1}, "x"),
    ({"id": "italy", "title": "t", "country": "c", "country_code": "IT", "public": "yes"},
     "public"),
])
async def test_invalid_rooms_are_refused_naming_the_field(api, body, field):
    error = await _error(await api.post("/api/rooms", json=body, headers=bearer(admin_token())),
                         400, "invalid_field")
    assert error["field"] == field


async def test_malformed_and_oversized_bodies_get_json_errors(api):
    op = bearer(admin_token())
    await _error(await api.post("/api/rooms", data=b"{nope", headers=op), 400, "invalid_json")
    await _error(await api.post("/api/rooms", data=b"[]", headers=op), 400, "invalid_field")
    await _error(await api.post("/api/rooms", data=b"x" * 300_000, headers=op), 413,
                 "payload_too_large")
    await _error(await api.get("/api/nothing-here"), 404, "not_found")
    await _error(await api.put("/api/rooms", headers=op), 405, "method_not_allowed")


async def test_the_host_manages_products_and_viewers_see_the_changes(api):
    host = bearer(token(ROOM, "host"))
    async with RoomClient(api.srv.base_url, ROOM, token=token(ROOM)) as viewer:
        created = await api.post(f"/api/rooms/{ROOM}/products", headers=host, json={
            "id": "thai-silk", "name": "Silk scarf", "price": "1290", "currency": "THB",
            "stock": 60, "origin": "Thailand", "image": "/static/products/thai-silk-scarf.svg",
        })
        assert created.status == 201 and (await created.json())["price"] == "1290.00"
        assert (await viewer.next_event("product.added"))["product"]["id"] == "thai-silk"
        patched = await api.patch(f"/api/rooms/{ROOM}/products/thai-silk", headers=host,
                                  json={"price": "1190.50"})
        assert (await patched.json())["price"] == "1190.50"
        assert (await viewer.next_event("product.updated"))["product"]["price"] == "1190.50"
        assert (await api.delete(f"/api/rooms/{ROOM}/products/thai-silk",
                                 headers=host)).status == 204
        assert (await viewer.next_event("product.removed"))["product_id"] == "thai-silk"
    products = (await (await api.get(f"/api/rooms/{ROOM}/products")).json())["products"]
    assert [p["id"] for p in products] == ["durian", "mango"]
    await _error(await api.get(f"/api/rooms/{ROOM}/products/thai-silk"), 404,
                 "product_not_found")


@pytest.mark.parametrize("tok, status, code", [
    (None, 401, "unauthorized"),
    (token(ROOM, "viewer"), 403, "forbidden"),
    (token("chile", "host"), 403, "wrong_room"),
])
async def test_products_are_changed_only_by_the_rooms_host_moderators_and_operators(
    api, tok, status, code
):
    headers = bearer(tok) if tok else {}
    await _error(await api.patch(f"/api/rooms/{ROOM}/products/durian", json={"stock": 1},
                                 headers=headers), status, code)
    for ok in (token(ROOM, "moderator"), admin_token()):
        response = await api.patch(f"/api/rooms/{ROOM}/products/durian", json={"stock": 7},
                                   headers=bearer(ok))
        assert response.status == 200


@pytest.mark.parametrize("body, field", [
    ({"price": "-1"}, "price"),
    ({"price": "0"}, "price"),
    ({"price": "12.345"}, "price"),
    ({"price": "abc"}, "price"),
    ({"price": 1.5}, "price"),
    ({"currency": "baht"}, "currency"),
    ({"stock": -1}, "stock"),
    ({"stock": 2.5}, "stock"),
    ({"image": "javascript:alert(1)"}, "image"),
    ({"image": "/x\" onerror=\"y"}, "image"),
    ({"id": "other"}, "id"),
])
async def test_invalid_product_changes_are_refused_naming_the_field(api, body, field):
    error = await _error(await api.patch(f"/api/rooms/{ROOM}/products/durian", json=body,
                                         headers=bearer(admin_token())), 400, "invalid_field")
    assert error["field"] == field


async def test_zero_decimal_currencies_take_no_cents(api):
    response = await api.patch(f"/api/rooms/{ROOM}/products/durian", headers=bearer(
        admin_token()), json={"currency": "VND", "price": "189000"})
    assert (await response.json())["price"] == "189000"
    await _error(await api.patch(f"/api/rooms/{ROOM}/products/durian", headers=bearer(
        admin_token()), json={"price": "189000.50"}), 400, "invalid_field")
