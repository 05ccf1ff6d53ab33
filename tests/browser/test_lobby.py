"""The lobby in Chromium: cards of equal height that follow the rooms from the server's live
feed (the page never polls), and a live room's still, served and changing while it is live."""

from __future__ import annotations

from playwright.async_api import expect

from liveroom.client import RoomClient
from liveroom.domain.sales import sale_from_input
from tests.helpers import token

from .conftest import until
from .test_live_video import MEDIA, go_live
from .test_pages import ROOM

# The room's still as the page can fetch it: a fingerprint of its bytes, other than `before`.
STILL = """async (before) => {
  const response = await fetch("/rooms/thailand/thumbnail.jpg", {cache: "no-store"});
  if (response.status !== 200) return null;
  const bytes = new Uint8Array(await response.arrayBuffer());
  const print = bytes.length + ":" + Array.from(bytes.slice(-64)).join(",");
  return print !== before && print;
}"""


async def test_the_lobby_follows_the_rooms_without_polling(server, open_page):
    srv = await server()
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    lobby = await open_page("about:blank")
    polled = []
    lobby.on("request", lambda r: "/api/rooms" in r.url and polled.append(r.url))
    await lobby.goto(f"{srv.base_url}/")
    card = lobby.get_by_role("list", name="Rooms").get_by_role("listitem").filter(
        has_text="Thailand live")
    await expect(card).to_contain_text("0 watching")
    await expect(card).to_contain_text("No flash sale right now")

    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user="ann")):
        await expect(card).to_contain_text("1 watching")
    await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 5, "duration": 300, "price": "99.00"}, product, room=ROOM, by="mod"))
    await expect(card.locator(".room-card-sale")).to_contain_text("Flash sale now: Monthong durian")
    await srv.app_engine.store.pin(ROOM, "mango", "mod")
    await expect(card).to_contain_text("Pinned now")
    assert polled == [], f"the lobby polled the API: {polled}"


async def test_cards_have_equal_heights_whatever_they_show(server, open_page):
    srv = await server()
    store = srv.app_engine.store
    for room_id in ("chile", "italy", "vietnam"):
        await store.create_room({**await store.get_room(ROOM), "id": room_id,
                                 "title": f"{room_id.title()} live"})
    product = await store.get_product(ROOM, "durian")
    await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 5, "duration": 300}, product, room=ROOM, by="mod"))
    await store.pin(ROOM, "durian", "mod")  # one card with a sale and a pin, the others bare
    lobby = await open_page(f"{srv.base_url}/", width=1366, height=900)
    cards = lobby.get_by_role("list", name="Rooms").get_by_role("listitem")
    await expect(cards).to_have_count(4)
    await expect(cards.filter(has_text="Thailand live")).to_contain_text("Flash sale now")
    heights = {round((await card.bounding_box())["height"]) for card in await cards.all()}
    assert len(heights) == 1, heights


async def test_a_live_rooms_card_shows_its_still_and_the_still_changes(server, open_page):
    srv = await server(**MEDIA)
    lobby = await open_page(f"{srv.base_url}/", width=1366, height=900)
    card = lobby.get_by_role("list", name="Rooms").get_by_role("listitem").filter(
        has_text="Thailand live")
    await expect(card).to_have_attribute("data-live", "false")
    await go_live(open_page, srv)

    await expect(card).to_have_attribute("data-live", "true")
    image = card.locator(".room-thumb-image")
    await expect(image).to_be_visible(timeout=20_000)  # the still loaded
    assert await image.evaluate("(img) => img.naturalWidth") > 0
    first = await until(lobby, STILL, timeout=15)
    second = await until(lobby, STILL, timeout=20, arg=first)  # a new keyframe, a new still
    assert second != first
