"""The pages in the reader's language: chosen from the browser's Accept-Language, or with the
switcher in the header (remembered for the next pages). Strings the scripts write (connection
status, sale cards) are translated too."""

from __future__ import annotations

from playwright.async_api import expect

from .conftest import until
from .test_live_video import go_live, playing
from .test_pages import ROOM, open_switcher


async def test_a_thai_browser_gets_the_room_page_in_thai(server, open_page):
    srv = await server()
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    page = await open_page(f"{srv.base_url}/rooms/{ROOM}", locale="th-TH")

    await expect(page.locator("html")).to_have_attribute("lang", "th")
    await expect(page.get_by_role("heading", name="สินค้าที่ปักหมุด")).to_be_visible()  # template
    await expect(page.get_by_role("status").filter(has_text="เชื่อมต่อแล้ว")).to_be_visible()  # script
    await expect(page.get_by_role("button", name="กดถูกใจห้องไลฟ์นี้")).to_be_visible()
    pinned = page.get_by_role("region", name="สินค้าที่ปักหมุด")
    await expect(pinned).to_contain_text("มีสินค้า 100 ชิ้น")  # "100 in stock", from the script
    await expect(pinned).to_contain_text("แหล่งผลิต: Thailand")


async def test_the_switcher_turns_the_lobby_thai_and_the_next_page_stays_thai(server, open_page):
    srv = await server()
    lobby = await open_page(f"{srv.base_url}/")
    await expect(lobby.get_by_role("heading", name="Live rooms")).to_be_visible()

    await open_switcher(lobby)
    await lobby.get_by_label("Language", exact=True).select_option(label="ไทย")
    await lobby.get_by_role("button", name="Apply").click()

    await expect(lobby.get_by_role("heading", name="ห้องไลฟ์")).to_be_visible()
    card = lobby.get_by_role("list", name="ห้อง").get_by_role("listitem").filter(has_text="Thailand live")
    await expect(card).to_contain_text("ผู้ชม 0 คน")
    await expect(card).to_contain_text("ดำเนินรายการโดย Siam Orchard")

    await card.get_by_role("link").click()  # the cookie keeps the choice
    await expect(lobby.get_by_role("status").filter(has_text="เชื่อมต่อแล้ว")).to_be_visible()
    await expect(lobby.get_by_role("heading", name="แชท")).to_be_visible()
    await expect(lobby.get_by_label("ภาษา", exact=True)).to_have_value("th")


async def test_switching_language_updates_the_room_in_place_and_the_video_plays_on(
        server, open_page):
    srv = await server(ice_addresses=("127.0.0.1",))
    room = {**await srv.app_engine.store.get_room(ROOM),
            "translations": {"ru": {"title": "Таиланд в эфире"}}}
    await srv.app_engine.store.update_room(room)
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    viewer = await open_page("about:blank")
    subscribes = []
    viewer.on("websocket", lambda ws: ws.on(
        "framesent", lambda frame: '"media.subscribe"' in str(frame) and subscribes.append(1)))
    await viewer.goto(f"{srv.base_url}/rooms/{ROOM}")
    await go_live(open_page, srv)
    await playing(viewer, "[data-video]")
    await viewer.evaluate("document.querySelector('[data-video]').dataset.mark = 'same'")
    before = await viewer.evaluate("document.querySelector('[data-video]').currentTime")

    await open_switcher(viewer)
    await viewer.get_by_label("Language", exact=True).select_option(label="Русский")

    await expect(viewer.locator("html")).to_have_attribute("lang", "ru")
    await expect(viewer.get_by_role("heading", name="Закреплённый товар")).to_be_visible()  # template
    await expect(viewer.get_by_role("status").filter(has_text="Подключено")).to_be_visible()  # script
    await expect(viewer.locator("[data-room-title]").first).to_have_text("Таиланд в эфире")  # content
    await expect(viewer.get_by_role("region", name="Закреплённый товар")).to_contain_text("₽")
    assert await viewer.title() == "Таиланд в эфире · Liveroom"
    # The same page, the same video, never restarted.
    assert await viewer.evaluate("document.querySelector('[data-video]').dataset.mark") == "same"
    await until(viewer, f"() => document.querySelector('[data-video]').currentTime > {before} + 1")
    assert len(subscribes) == 1, f"the video was subscribed {len(subscribes)} times"
    # The choice is remembered for the next page.
    next_page = await viewer.context.new_page()
    await next_page.goto(f"{srv.base_url}/")
    await expect(next_page.get_by_role("heading", name="Прямые эфиры")).to_be_visible()
    await next_page.close()
