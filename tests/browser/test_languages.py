"""The pages in the reader's language: chosen from the browser's Accept-Language, or with the
switcher in the header (remembered for the next pages). Strings the scripts write (connection
status, sale cards) are translated too."""

from __future__ import annotations

from playwright.async_api import expect

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
