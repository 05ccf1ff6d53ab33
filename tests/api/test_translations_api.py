"""Rooms and products in other languages over REST: the operator and the room's host and
moderators enter translations; a staff member changes only the room's text. Both engines."""

from __future__ import annotations

from liveroom.client import RoomClient

from ..helpers import admin_token, bearer, token

ROOM = "thailand"


async def test_a_moderator_translates_the_room_and_its_products(api):
    mod = bearer(token(ROOM, "moderator", user="mod"))
    async with RoomClient(api.srv.base_url, ROOM, token=token(ROOM)) as viewer:
        changed = await api.patch(f"/api/rooms/{ROOM}", headers=mod, json={
            "translations": {"th": {"title": "ห้องไลฟ์ประเทศไทย", "description": "ผลไม้สด"},
                             "ru": {"title": "Таиланд в прямом эфире"}}})
        assert changed.status == 200, await changed.text()
        room = await changed.json()
        assert room["translations"]["th"]["title"] == "ห้องไลฟ์ประเทศไทย"
        assert (await viewer.next_event("room.updated"))["room"]["translations"] == \
            room["translations"]

        product = await api.patch(f"/api/rooms/{ROOM}/products/durian", headers=mod, json={
            "translations": {"th": {"name": "ทุเรียนหมอนทอง"}}})
        assert product.status == 200, await product.text()
        updated = await viewer.next_event("product.updated")
        assert updated["product"]["translations"] == {"th": {"name": "ทุเรียนหมอนทอง"}}

    # Merged language by language: "" drops a field, null a language.
    again = await api.patch(f"/api/rooms/{ROOM}", headers=mod, json={
        "translations": {"th": {"description": ""}, "ru": None}})
    assert (await again.json())["translations"] == {"th": {"title": "ห้องไลฟ์ประเทศไทย"}}
    listed = (await (await api.get("/api/rooms")).json())["rooms"][0]
    assert listed["translations"] == {"th": {"title": "ห้องไลฟ์ประเทศไทย"}}


async def test_staff_change_only_the_rooms_text_and_viewers_nothing(api):
    mod = bearer(token(ROOM, "moderator", user="mod"))
    refused = await api.patch(f"/api/rooms/{ROOM}", headers=mod, json={"public": False})
    assert refused.status == 403
    assert (await refused.json())["error"]["field"] == "public"
    viewer = await api.patch(f"/api/rooms/{ROOM}", headers=bearer(token(ROOM)),
                             json={"title": "Mine now"})
    assert viewer.status == 403
    other_room = await api.patch(f"/api/rooms/{ROOM}",
                                 headers=bearer(token("chile", "moderator")),
                                 json={"title": "Mine now"})
    assert other_room.status == 403
    operator = await api.patch(f"/api/rooms/{ROOM}", headers=bearer(admin_token()),
                               json={"public": False, "title": "Thailand, private"})
    assert operator.status == 200


async def test_bad_translations_are_refused_precisely(api):
    mod = bearer(token(ROOM, "moderator", user="mod"))
    for body, field in (
            ({"translations": {"thai": {"title": "x"}}}, "translations"),
            ({"translations": {"th": {"country": "x"}}}, "translations.th"),
            ({"translations": {"th": {"title": "x" * 121}}}, "translations.th.title"),
            ({"translations": ["th"]}, "translations")):
        response = await api.patch(f"/api/rooms/{ROOM}", headers=mod, json=body)
        assert response.status == 400, body
        error = (await response.json())["error"]
        assert (error["code"], error["field"]) == ("invalid_field", field), error
