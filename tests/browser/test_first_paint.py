"""The first paint is right before any script runs: the room page, with scripts off in
Chromium, already shows the room live or offline (a spinner while its video would connect),
the pinned product and the running sale with its struck-through regular price."""

from __future__ import annotations

import re

from playwright.async_api import expect

from liveroom.domain.sales import sale_from_input

from .test_live_video import MEDIA, go_live
from .test_pages import ROOM


async def _without_scripts(browser, url: str, **viewport):
    context = await browser.new_context(java_script_enabled=False, locale="en-US",
                                        viewport=viewport or {"width": 1366, "height": 768})
    page = await context.new_page()
    await page.goto(url)
    return page


async def test_the_room_is_painted_with_its_state_before_any_script(server, browser, open_page):
    srv = await server(**MEDIA)
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 40, "duration": 300, "price": "445.00"}, product, room=ROOM, by="mod",
        rates={"CNY": "1", "THB": "0.2", "USD": "7.2"}))
    await srv.app_engine.store.pin(ROOM, "mango", "mod")
    page = await _without_scripts(browser, f"{srv.base_url}/rooms/{ROOM}")
    try:
        await expect(page.get_by_text("Siam Orchard is offline")).to_be_visible()
        await expect(page.locator("[data-video-spinner]")).to_be_hidden()
        pinned = page.get_by_role("region", name="Pinned product")
        await expect(pinned.get_by_role("heading", name="Mango")).to_be_visible()
        await expect(pinned).to_contain_text(re.compile(r"THB\s890\.00"))
        await expect(pinned).to_contain_text("100 in stock")
        sale = page.get_by_role("list", name="Flash sales").get_by_role("listitem")
        await expect(sale.get_by_role("heading", name="Monthong durian")).to_be_visible()
        await expect(sale.locator(".sale-price-main")).to_have_text(re.compile(r"THB\s445\.00"))
        await expect(sale.locator(".sale-price-regular")).to_have_text(re.compile(r"THB\s890\.00"))
        await expect(sale.locator(".sale-off")).to_have_text("−50%")
        await expect(sale.get_by_role("progressbar", name="Units left")).to_have_attribute(
            "aria-valuetext", "40 of 40 left")
    finally:
        await page.context.close()

    await go_live(open_page, srv)
    page = await _without_scripts(browser, f"{srv.base_url}/rooms/{ROOM}", width=360, height=740)
    try:
        await expect(page.locator("[data-video-spinner]")).to_be_visible()  # coming, not offline
        await expect(page.get_by_text("Connecting to the live video…")).to_be_visible()
        await expect(page.get_by_text("Siam Orchard is offline")).to_be_hidden()
        await expect(page.locator("[data-live-badge]")).to_be_visible()
    finally:
        await page.context.close()
