"""The pages as people use them: viewers chatting, a moderator pinning and deleting, the lobby,
a small phone. Each test checks what a person would see, waiting with Playwright's expect()."""

from __future__ import annotations

import re
import time

from playwright.async_api import Page, expect

from liveroom.channel.fanout import FANOUT
from liveroom.domain.sales import sale_from_input
from tests.helpers import token

ROOM = "thailand"


def console_url(srv) -> str:
    return f"{srv.base_url}/console/{ROOM}?token={token(ROOM, 'moderator', user='mod')}"


def chat(page: Page):
    """The chat messages on a page."""
    return page.get_by_role("log", name="Chat messages").get_by_role("listitem")


async def connected(page: Page) -> Page:
    await expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    return page


async def open_switcher(page: Page) -> None:
    """Open the header's language and currency menu."""
    await page.get_by_label("Language and currency").first.click()
    await expect(page.get_by_label("Language", exact=True)).to_be_visible()


async def open_viewer(open_page, srv, name: str | None = None, **size) -> Page:
    """A viewer page, connected; with `name`, a guest that has joined the chat."""
    page = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}", **size))
    if name is not None:
        await page.get_by_label("Choose a display name to chat").fill(name)
        await page.get_by_role("button", name="Join chat").click()
        await expect(page.get_by_label("Message", exact=True)).to_be_visible()
    return page


async def say(page: Page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    await box.fill(text)
    await page.get_by_role("button", name="Send").click()
    await expect(box).to_have_value("")  # cleared once the server acknowledged it


async def test_chat_message_appears_on_another_viewer_page(server, open_page):
    srv = await server()
    reader = await open_viewer(open_page, srv)
    writer = await open_viewer(open_page, srv, name="Ann")

    await say(writer, "Sawasdee ka! Is the durian ripe?")

    message = chat(reader).filter(has_text="Sawasdee ka! Is the durian ripe?")
    await expect(message).to_have_count(1)
    await expect(message.locator(".chat-name")).to_have_text("Ann")


async def test_product_pinned_in_console_appears_on_viewer_page(server, open_page):
    srv = await server()
    viewer = await open_viewer(open_page, srv)
    pinned = viewer.get_by_role("region", name="Pinned product")
    await expect(pinned).to_contain_text("No product pinned")

    console = await connected(await open_page(console_url(srv)))
    await console.get_by_role("button", name="Pin Monthong durian").click()

    await expect(pinned.get_by_role("heading", level=3)).to_have_text("Monthong durian")
    await expect(pinned.locator(".product-price")).to_have_text(re.compile(r"^THB\s890\.00$"))
    await expect(console.get_by_role("button", name="Monthong durian is pinned")).to_be_disabled()


async def test_message_deleted_in_console_vanishes_from_viewer_page(server, open_page):
    srv = await server()
    viewer = await open_viewer(open_page, srv, name="Bo")
    await say(viewer, "buy cheap followers here")
    await say(viewer, "How many durians in a box?")

    console = await connected(await open_page(console_url(srv)))
    spam = chat(console).filter(has_text="buy cheap followers here")
    await spam.hover()
    await spam.get_by_role("button", name="Actions for the message from Bo").click()
    await console.get_by_role("menuitem", name="Delete message").click()

    await expect(chat(viewer).filter(has_text="buy cheap followers here")).to_have_count(0)
    await expect(chat(console).filter(has_text="buy cheap followers here")).to_have_count(0)
    await expect(chat(viewer).filter(has_text="How many durians in a box?")).to_have_count(1)


async def test_chat_markup_is_shown_as_text(server, open_page):
    srv = await server()
    payload = "<img src=x onerror=alert(1)>"
    reader = await open_viewer(open_page, srv)
    dialogs = []

    async def dismiss(dialog):
        dialogs.append(dialog.message)
        await dialog.dismiss()

    reader.on("dialog", dismiss)
    writer = await open_viewer(open_page, srv, name="<b>Eve</b>")

    await say(writer, payload)

    message = chat(reader).filter(has_text=payload)
    await expect(message.locator(".chat-text")).to_have_text(payload)
    await expect(message.locator(".chat-name")).to_have_text("<b>Eve</b>")
    # Had the text been parsed as markup, the elements would exist as soon as it was inserted.
    for page in (reader, writer):
        await expect(page.locator("[data-chat] img, [data-chat] b")).to_have_count(0)
    assert dialogs == []


async def test_lobby_lists_the_room_with_its_viewer_count(server, open_page):
    srv = await server()
    lobby = await open_page(f"{srv.base_url}/")
    card = lobby.get_by_role("list", name="Rooms").get_by_role("listitem").filter(
        has_text="Thailand live"
    )
    await expect(card).to_contain_text("0 watching")
    await expect(card.get_by_role("link")).to_have_attribute("href", f"/rooms/{ROOM}")

    await open_viewer(open_page, srv)

    await expect(card).to_contain_text("1 watching")  # the lobby refreshes by itself


async def test_viewer_page_has_no_horizontal_scrolling_at_360_px(server, open_page):
    srv = await server()
    await srv.app_engine.store.pin(ROOM, "durian", "test")
    viewer = await open_viewer(open_page, srv, name="Narrow", width=360, height=740)
    long_word = "Wowwww" + "w" * 150 + "!"
    await say(viewer, long_word)
    await expect(chat(viewer).filter(has_text=long_word)).to_have_count(1)
    await expect(viewer.get_by_role("region", name="Pinned product")).to_contain_text("Monthong durian")

    overflow = await viewer.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow} px wider than a 360 px screen"


async def test_viewer_page_resumes_after_the_connection_drops(server, open_page):
    srv = await server()
    viewer = await open_viewer(open_page, srv, name="Kim")
    await say(viewer, "before the drop")

    await srv.app[FANOUT].close_all(1001, "going away")  # every socket drops; the server stays
    await srv.app_engine.store.post_chat(ROOM, {
        "id": "0123456789abcdef", "user_id": "u-ann", "name": "Ann", "role": "viewer",
        "text": "while you were away", "ts": int(time.time() * 1000),
    }, privileged=False)

    await expect(chat(viewer).filter(has_text="while you were away")).to_have_count(1)
    await connected(viewer)
    await say(viewer, "after the drop")  # the guest's display name was set again by itself
    for text in ("before the drop", "while you were away", "after the drop"):
        await expect(chat(viewer).filter(has_text=text)).to_have_count(1)


async def test_lobby_shows_the_next_flash_sale_then_the_live_one(server, open_page):
    srv = await server()
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 30, "duration": 120, "starts_in": 5, "price": "99.00"}, product, room=ROOM,
        by="mod", rates={"CNY": "1", "THB": "0.2", "USD": "7.2"}))
    lobby = await open_page(f"{srv.base_url}/")
    card = lobby.get_by_role("list", name="Rooms").get_by_role("listitem").filter(
        has_text="Thailand live")
    sale = card.locator(".room-card-sale")

    await expect(sale).to_contain_text(re.compile(r"Flash sale in 0:0\d: Monthong durian at THB\s99\.00"))
    await expect(sale).to_have_text(
        re.compile(r"Flash sale now: Monthong durian at THB\s99\.00 \(≈ \$2\.75\), 30 left"),
        timeout=15_000)  # the lobby follows the rooms by itself


async def no_overflow(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow} px wider than a 360 px screen"


async def test_room_console_and_studio_fit_a_360_px_phone_during_a_flash_sale(server, open_page):
    srv = await server()
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 30, "duration": 120}, product, room=ROOM, by="mod", rates={"CNY": "1", "THB": "0.2"}))
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    viewer = await open_page(
        f"{srv.base_url}/rooms/{ROOM}?token={token(ROOM, 'viewer', user='mei', name='Mei')}",
        width=360, height=740, locale="ru-RU")  # Russian: long words
    await expect(viewer.get_by_role("status").filter(has_text="Подключено")).to_be_visible()
    await expect(viewer.get_by_role("list", name="Флеш-распродажи")).to_contain_text("Monthong durian")
    await expect(viewer.get_by_role("button", name="Купить: Monthong durian")).to_be_enabled()
    await no_overflow(viewer)

    console = await connected(await open_page(console_url(srv), width=360, height=740))
    await expect(console.get_by_role("list", name="Flash sales in this room")).to_contain_text(
        "0 sold, 30 of 30 left")
    await no_overflow(console)

    studio = await connected(await open_page(
        f"{srv.base_url}/studio/{ROOM}?token={token(ROOM, 'host', user='siam', name='Siam')}",
        width=360, height=740))
    await expect(studio.get_by_role("button", name="Go live")).to_be_visible()
    await no_overflow(studio)
