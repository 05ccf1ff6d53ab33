"""Flash sales in real pages: a moderator starts one from the console, viewers see it, one buys,
and everyone's stock bar moves; the answer to a buy (an order, or the precise refusal) shows
on the buyer's page; a retried press reuses its idempotency key; prices convert at the rates
the sale was created with."""

from __future__ import annotations

import asyncio
import datetime
import json
import re

from playwright.async_api import Page, expect

from liveroom.domain.sales import sale_from_input
from tests.helpers import token

from .test_pages import ROOM, connected, console_url, open_switcher


def shopper_url(srv, user: str, name: str) -> str:
    return f"{srv.base_url}/rooms/{ROOM}?token={token(ROOM, 'viewer', user=user, name=name)}"


def sale_card(page: Page):
    return page.get_by_role("list", name="Flash sales").get_by_role("listitem")


async def start_sale(console: Page, *, price="99.00", stock=50, limit=2, starts_in=0,
                     duration=300) -> None:
    """Fill in the console's flash-sale form (duration in minutes and seconds, the start now or
    at a time of day) and submit it."""
    await console.get_by_label("Product", exact=True).select_option(label="Monthong durian")
    await console.get_by_label("Sale price").fill(price)
    await console.get_by_label("Units for sale").fill(str(stock))
    await console.get_by_label("Limit per person").fill(str(limit))
    await console.get_by_label("Duration, minutes").fill(str(duration // 60))
    await console.get_by_label("Duration, seconds").fill(str(duration % 60))
    if starts_in:
        at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=starts_in)
        await console.get_by_label("Start time").fill(at.strftime("%H:%M:%S"))  # pages in UTC
        await expect(console.get_by_label("At", exact=True)).to_be_checked()
    else:
        await console.get_by_label("Now", exact=True).check()
    await console.get_by_role("button", name="Start flash sale").click()
    await expect(console.get_by_text("Flash sale created: Monthong durian.")).to_be_visible()


async def test_a_viewer_buys_and_the_stock_bar_changes_on_another_viewer_page(server, open_page):
    srv = await server()
    buyer = await connected(await open_page(shopper_url(srv, "mei", "Mei"), width=1366,
                                            height=768))
    watcher = await connected(await open_page(shopper_url(srv, "ann", "Ann")))
    console = await connected(await open_page(console_url(srv)))
    await expect(buyer.get_by_role("region", name="Flash sale")).to_be_hidden()

    await start_sale(console, stock=50, limit=2)

    for page in (buyer, watcher):
        card = sale_card(page)
        await expect(card.get_by_role("heading", name="Monthong durian")).to_be_visible()
        await expect(card.locator(".sale-price-main")).to_have_text(re.compile(r"^THB\s99\.00$"))
        await expect(card.get_by_role("progressbar", name="Units left")).to_have_attribute(
            "aria-valuetext", "50 of 50 left")
        await expect(card).to_contain_text(re.compile(r"Ends in [45]:\d\d"))

    await sale_card(buyer).get_by_label("Quantity").fill("2")
    await sale_card(buyer).get_by_role("button", name="Buy now: Monthong durian").click()

    await expect(sale_card(buyer).get_by_role("status")).to_contain_text(
        "Order confirmed: 2 × Monthong durian, THB 198.00")
    bar = sale_card(watcher).get_by_role("progressbar", name="Units left")
    await expect(bar).to_have_attribute("aria-valuetext", "48 of 50 left")
    await expect(sale_card(watcher).locator(".stock-text")).to_have_text("48 of 50 left")
    await expect(watcher.get_by_role("list", name="Just bought")).to_contain_text(
        "M***i just bought 2 × Monthong durian")
    await expect(buyer.get_by_role("list", name="My orders").get_by_role("listitem")).to_contain_text(
        ["2 × Monthong durian"])

    # At the per-person limit: Buy is off, and the card says why.
    await expect(sale_card(buyer).get_by_role("button", name="Buy now: Monthong durian")).to_be_disabled()
    await expect(sale_card(buyer)).to_contain_text("You have bought the most allowed: 2 per person.")
    await expect(sale_card(watcher).get_by_role("button", name="Buy now: Monthong durian")).to_be_enabled()

    # The console follows the sale and reads its orders.
    admin = console.get_by_role("list", name="Flash sales in this room").get_by_role("listitem")
    await expect(admin).to_contain_text("2 sold, 48 of 50 left")
    await admin.get_by_role("button", name="Show the orders of the sale of Monthong durian").click()
    orders = console.get_by_role("region", name="Orders: Monthong durian")
    await expect(orders.get_by_role("row").filter(has_text="Mei")).to_contain_text("THB 198.00")
    await admin.get_by_role("button", name="End the sale of Monthong durian").click()
    await expect(sale_card(watcher)).to_contain_text("Ended")
    await expect(sale_card(watcher).get_by_role("button", name="Buy now: Monthong durian")).to_be_disabled()


async def test_a_scheduled_sale_counts_down_then_opens(server, open_page):
    srv = await server()
    viewer = await connected(await open_page(shopper_url(srv, "kim", "Kim")))
    console = await connected(await open_page(console_url(srv)))

    await start_sale(console, starts_in=3, stock=10, limit=1)

    card = sale_card(viewer)
    await expect(card).to_contain_text(re.compile(r"Starts in 0:0[1-3]"))
    await expect(card.get_by_role("button", name="Buy now: Monthong durian")).to_be_disabled()
    await expect(card).to_contain_text("Live now", timeout=10_000)
    await expect(card.get_by_role("button", name="Buy now: Monthong durian")).to_be_enabled()


async def test_a_guest_is_told_to_sign_in_before_buying(server, open_page):
    srv = await server()
    guest = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}"))
    console = await connected(await open_page(console_url(srv)))
    await start_sale(console)
    await expect(sale_card(guest)).to_contain_text("Sign in to buy")
    await expect(sale_card(guest).get_by_role("button", name="Buy now: Monthong durian")).to_be_disabled()


async def test_a_buy_whose_answer_is_lost_is_retried_with_the_same_key(server, open_page):
    """The ack of the first attempt never reaches the page and its connection drops; the page
    sends the same press again after reconnecting, and the server answers with the same order."""
    srv = await server()
    store = srv.app_engine.store
    product = await store.get_product(ROOM, "durian")
    sale = await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 20, "duration": 300, "per_user_limit": 5, "price": "99.00"}, product,
        room=ROOM, by="mod", rates={"CNY": "1", "THB": "0.2", "USD": "7.2"}))
    buyer = await open_page("about:blank")
    keys: list[str] = []
    dropped: list[bool] = []

    async def relay(ws):
        upstream = ws.connect_to_server()

        def to_server(message):
            frame = json.loads(message)
            if frame.get("cmd") == "sale.buy":
                keys.append(frame["idempotency_key"])
            upstream.send(message)

        def to_page(message):
            frame = json.loads(message) if isinstance(message, str) else {}
            if frame.get("type") == "ack" and "order" in frame and not dropped:
                dropped.append(True)
                # The answer is lost with the connection (1011: the page reconnects).
                asyncio.ensure_future(ws.close(code=1011, reason="lost"))
                return
            ws.send(message)

        ws.on_message(to_server)
        upstream.on_message(to_page)

    await buyer.route_web_socket(re.compile(r"/ws/rooms/"), relay)
    await buyer.goto(shopper_url(srv, "lin", "Lin"))
    await connected(buyer)
    card = sale_card(buyer)
    await card.get_by_label("Quantity").fill("3")
    await card.get_by_role("button", name="Buy now: Monthong durian").click()

    await expect(card.get_by_role("status")).to_contain_text(
        "Order confirmed: 3 × Monthong durian, THB 297.00 (≈ $8.25)")  # English: dollars
    assert len(keys) == 2 and keys[0] == keys[1], keys
    await expect(card.get_by_role("progressbar", name="Units left")).to_have_attribute(
        "aria-valuetext", "17 of 20 left")
    orders = await srv.app_engine.sales.list_orders(ROOM, sale_id=sale["id"])
    assert [o["quantity"] for o in orders] == [3]
    await expect(buyer.get_by_role("list", name="My orders").get_by_role("listitem")).to_have_count(1)


async def test_sale_prices_convert_at_the_sale_rates_not_the_current_ones(server, open_page):
    srv = await server(currency_rates=(("CNY", "1"), ("THB", "0.2")))  # no USD: English shows yuan
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    # A sale created while 1 THB was 0.25 CNY keeps that rate after the operator changed it.
    await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 5, "duration": 300, "price": "100.00"}, product, room=ROOM, by="mod",
        rates={"CNY": "1", "THB": "0.25"}))
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    viewer = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}"))

    await expect(sale_card(viewer).locator(".sale-price-converted")).to_have_text("≈ CN¥25.00")
    pinned = viewer.get_by_role("region", name="Pinned product")
    await expect(pinned.locator(".product-price-converted")).to_have_text("≈ CN¥178.00")

    # The viewer picks another currency in the header: both prices follow, in place.
    await open_switcher(viewer)
    await viewer.get_by_label("Currency", exact=True).select_option("THB")
    await expect(sale_card(viewer).locator(".sale-price-main")).to_have_text(re.compile(r"THB\s100\.00"))
    await expect(sale_card(viewer).locator(".sale-price-converted")).to_have_text("")


async def test_a_sale_is_announced_on_the_video_with_its_discount(server, open_page):
    srv = await server()
    viewer = await connected(await open_page(shopper_url(srv, "kim", "Kim"), width=360,
                                             height=740))
    banner = viewer.locator("#video [data-sale-banner]")
    await expect(banner).to_be_hidden()
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 10, "duration": 120, "starts_in": 3, "price": "99.00"}, product, room=ROOM,
        by="mod"))
    await expect(banner).to_have_text(re.compile(
        r"^Flash sale in 0:0[1-3]: Monthong durian at THB\s99\.00 \(−89%\)$"))
    await expect(banner).to_have_text(re.compile(
        r"^Flash sale now: Monthong durian at THB\s99\.00 \(−89%\)$"), timeout=15_000)
    card = sale_card(viewer)
    await expect(card.locator(".sale-price-regular")).to_have_text(re.compile(r"THB\s890\.00"))
    await expect(card.locator(".sale-off")).to_have_text("−89%")
    await expect(banner).to_be_hidden(timeout=15_000)  # it says it, then gets out of the way
