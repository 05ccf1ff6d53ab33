"""The moderator console for a busy room, in Chromium at 1366x768: one screen (the page does not
scroll), 30 or more chat messages in view, actions in a menu and by key, markers on muted and
banned users, a ban that takes the spam with it, members that update by themselves, the sale
form in minutes and seconds, and the live video's preview."""

from __future__ import annotations

import datetime

from playwright.async_api import expect

from liveroom.client import RoomClient
from tests.helpers import public_id, token

from .conftest import save_screenshot, until
from .test_pages import ROOM, chat, connected, console_url
from .test_phone_room import _publish

DESKTOP = {"width": 1366, "height": 768}


async def _messages(srv, count: int, user: str = "u", name: str = "Viewer") -> list[str]:
    ids = []
    for n in range(count):
        message_id = f"{user}{n:014d}"[:16].ljust(16, "0")
        await srv.app_engine.store.post_chat(ROOM, {
            "id": message_id, "user_id": f"{user}{n % 7}", "name": f"{name} {n % 7}",
            "role": "viewer", "text": f"Question number {n}: is it ripe?",
            "ts": 1_795_872_181_622 + n * 1000}, privileged=False)
        ids.append(message_id)
    return ids


async def test_a_busy_room_fits_one_screen_with_thirty_messages_in_view(server, open_page):
    srv = await server()
    await _messages(srv, 60)
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    console = await connected(await open_page(console_url(srv), **DESKTOP))
    await expect(chat(console)).to_have_count(50)  # the last 50: the snapshot's tail
    in_view = await console.evaluate("""() => {
        const list = document.querySelector("[data-chat]").getBoundingClientRect();
        return [...document.querySelectorAll("[data-chat] li")].filter((li) => {
            const r = li.getBoundingClientRect();
            return r.top >= list.top - 1 && r.bottom <= list.bottom + 1 && r.bottom <= innerHeight;
        }).length;
    }""")
    assert in_view >= 30, f"only {in_view} messages in view at 1366x768"
    scrolled = await console.evaluate(
        "document.scrollingElement.scrollHeight - innerHeight")
    assert scrolled <= 0, f"the console scrolls by {scrolled} px"
    for region in ("Chat", "Products", "Flash sales", "Live video"):
        box = await console.get_by_role("region", name=region).bounding_box()
        assert box and box["y"] < DESKTOP["height"], region  # each starts on the screen
    await save_screenshot(console, "console")


async def test_moderating_by_menu_and_by_key(server, open_page):
    srv = await server()
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user="bo", name="Bo")) as bo, \
            RoomClient(srv.base_url, ROOM, token=token(ROOM, user="spam", name="Spam")) as spam:
        await bo.chat("How many in a box?")
        await bo.chat("buy cheap followers")
        for n in range(3):
            await spam.chat(f"cheap followers {n}")
        viewer = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}"))
        console = await connected(await open_page(console_url(srv), **DESKTOP))
        await expect(chat(console)).to_have_count(5)

        # D on a selected message deletes it, for everyone.
        row = chat(console).filter(has_text="buy cheap followers")
        await row.click()
        await console.keyboard.press("d")
        await expect(chat(viewer).filter(has_text="buy cheap followers")).to_have_count(0)
        await expect(chat(console)).to_have_count(4)

        # M mutes the writer: their rows are marked.
        await chat(console).filter(has_text="How many in a box?").click()
        await console.keyboard.press("m")
        await expect(chat(console).filter(has_text="How many in a box?")).to_contain_text("Muted")
        await expect(console.get_by_role("list", name="Moderation activity")).to_contain_text(
            "Bo was muted until")

        # The menu: ban and remove their messages, on the second press.
        spam_row = chat(console).filter(has_text="cheap followers 1")
        await spam_row.hover()
        await spam_row.get_by_role("button", name="Actions for the message from Spam").click()
        ban = console.get_by_role("menuitem", name="Ban and remove their messages")
        await ban.click()
        await expect(console.get_by_role("alert")).to_contain_text("Press again to ban Spam.")
        await ban.click()
        await expect(chat(console).filter(has_text="cheap followers")).to_have_count(0)
        await expect(chat(viewer).filter(has_text="cheap followers")).to_have_count(0)
        await expect(console.get_by_role("list", name="Moderation activity")).to_contain_text(
            "Spam was banned by you.")
        assert await srv.app_engine.store.is_banned(ROOM, public_id(ROOM, "spam"))


async def test_members_update_by_themselves(server, open_page):
    srv = await server()
    console = await connected(await open_page(console_url(srv), **DESKTOP))
    members = console.get_by_role("list", name="People in the room")
    await expect(members.get_by_role("listitem")).to_have_count(1)  # the moderator
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user="ann", name="Ann")):
        ann = members.get_by_role("listitem").filter(has_text="Ann")
        await expect(ann).to_have_count(1, timeout=15_000)  # nobody pressed Refresh
        await ann.get_by_role("button", name="Mute Ann for 5 minutes").click()
        await expect(ann).to_contain_text("Muted")
    await expect(members.get_by_role("listitem").filter(has_text="Ann")).to_have_count(
        0, timeout=15_000)


async def test_a_sale_in_minutes_and_seconds_starting_at_a_time(server, open_page):
    srv = await server()
    console = await connected(await open_page(console_url(srv), **DESKTOP))
    await console.get_by_label("Product", exact=True).select_option(label="Monthong durian")
    await console.get_by_label("Duration, minutes").fill("1")
    await console.get_by_label("Duration, seconds").fill("30")
    at = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)).replace(
        microsecond=0)
    await console.get_by_label("Start time").fill(at.strftime("%H:%M:%S"))
    await expect(console.locator("[data-sale-hint]")).to_contain_text("It starts at")
    await console.get_by_role("button", name="Start flash sale").click()
    await expect(console.get_by_text("Flash sale created: Monthong durian.")).to_be_visible()
    sale = (await srv.app_engine.sales.list_sales(ROOM))[0]
    assert sale["ends_at"] - sale["starts_at"] == 90_000
    assert sale["starts_at"] == int(at.timestamp() * 1000)
    assert sale["state"] == "scheduled"
    await expect(console.get_by_role("list", name="Flash sales in this room")).to_contain_text(
        "Starts in 9:")


async def test_the_console_previews_the_live_video(server, open_page):
    srv = await server(ice_addresses=("127.0.0.1",))
    console = await connected(await open_page(console_url(srv), **DESKTOP))
    await expect(console.get_by_text("Nobody is live right now.")).to_be_visible()
    pc = await _publish(srv, 640, 360)
    try:
        await until(console, "() => document.querySelector('[data-preview]').videoWidth > 0")
        await expect(console.get_by_role("region", name="Live video").get_by_text(
            "Live", exact=True)).to_be_visible()
    finally:
        await pc.close()




async def test_a_moderator_translates_a_product_and_thai_viewers_see_it(server, open_page):
    srv = await server()
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    viewer = await open_page(f"{srv.base_url}/rooms/{ROOM}", locale="th-TH")
    pinned = viewer.get_by_role("region", name="สินค้าที่ปักหมุด")
    await expect(pinned.get_by_role("heading", level=3)).to_have_text("Monthong durian")
    console = await connected(await open_page(console_url(srv), **DESKTOP))
    await console.get_by_text("Translations", exact=True).click()
    await console.get_by_label("Language", exact=True).last.select_option("th")
    await console.get_by_label("What to translate").select_option(label="Monthong durian")
    await console.get_by_label("Name", exact=True).fill("ทุเรียนหมอนทอง")
    await console.get_by_label("Description").fill("ทุเรียนจากจันทบุรี")
    await console.get_by_role("button", name="Save translation").click()
    await expect(console.get_by_text("Saved. Viewers reading this language see it now.")).to_be_visible()
    await expect(pinned.get_by_role("heading", level=3)).to_have_text("ทุเรียนหมอนทอง")  # live
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    assert product["translations"] == {"th": {"name": "ทุเรียนหมอนทอง",
                                              "description": "ทุเรียนจากจันทบุรี"}}
