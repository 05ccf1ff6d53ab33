"""Shopping outside flash sales in real pages: a signed-in viewer buys the pinned product at its
price, pays through the shop's checkout link, and sees the order turn paid the moment the shop
says so over REST; another viewer sees the stock move; a guest is sent to sign in."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp
from playwright.async_api import Page, expect

from liveroom.domain import checkout
from tests.helpers import admin_token, bearer, token

from .test_pages import ROOM, connected

SHOP = "https://shop.example"
CHECKOUT = SHOP + "/pay?order={order}&total={total}&currency={currency}&sig={signature}"
SECRET = "shop-secret-0123456789"
SIGNIN = SHOP + "/login?next={return}"


def pinned(page: Page):
    return page.get_by_role("region", name="Pinned product")


async def test_a_viewer_buys_the_pinned_product_pays_and_sees_it_paid(server, open_page):
    srv = await server(checkout_url=CHECKOUT, checkout_secret=SECRET)
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    buyer = await connected(await open_page(
        f"{srv.base_url}/rooms/{ROOM}?token={token(ROOM, user='mei', name='Mei')}"))
    watcher = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}"))
    await expect(pinned(watcher)).to_contain_text("100 in stock")

    card = pinned(buyer)
    await card.get_by_label("Quantity").fill("2")
    await card.get_by_role("button", name="Buy: Monthong durian").click()
    result = card.get_by_role("status")
    await expect(result).to_contain_text("Order confirmed: 2 × Monthong durian, THB 1,780.00")
    await expect(pinned(watcher)).to_contain_text("98 in stock")  # everyone sees the stock move

    # Pay: the shop's checkout, with the order and a signature the shop can check.
    pay = result.get_by_role("link", name=re.compile(r"^Pay THB\s1,780\.00$"))
    link = urlsplit(await pay.get_attribute("href"))
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert f"{link.scheme}://{link.netloc}{link.path}" == SHOP + "/pay"
    assert (query["total"], query["currency"]) == ("1780.00", "THB")
    assert checkout.verify(SECRET, room=ROOM, order_id=query["order"], total="1780.00",
                           currency="THB", given=query["sig"])
    await buyer.context.route(f"{SHOP}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<h1>Pay at the shop</h1>"))
    async with buyer.context.expect_page() as opened:
        await pay.click()
    shop = await opened.value
    await expect(shop.get_by_role("heading", name="Pay at the shop")).to_be_visible()
    assert query["order"] in shop.url
    await shop.close()

    mine = buyer.get_by_role("list", name="My orders").get_by_role("listitem")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("Reserved: waiting for payment")
    # The shop took the money and says so: the buyer's page changes at once, by itself.
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{srv.base_url}/api/rooms/{ROOM}/orders/{query['order']}/pay",
                             headers=bearer(admin_token())) as paid:
            assert paid.status == 200
    await expect(mine).to_contain_text("Paid")
    await expect(mine.get_by_role("link", name=re.compile("^Pay"))).to_have_count(0)
    # The other viewer's page knows nothing of it.
    await expect(watcher.get_by_role("list", name="My orders")).to_be_hidden()


async def test_a_product_bought_from_the_sheet_and_a_cancelled_order_returns_its_stock(
        server, open_page):
    srv = await server()
    buyer = await connected(await open_page(
        f"{srv.base_url}/rooms/{ROOM}?token={token(ROOM, user='kim', name='Kim')}",
        width=360, height=740))
    await buyer.get_by_role("button", name="Products").click()
    sheet = buyer.locator("[data-products-sheet]")
    mango = sheet.locator(".shelf-item").filter(has_text="Mango")
    await expect(mango).to_contain_text("100 in stock")
    await mango.get_by_role("button", name="Buy: Mango").click()
    await expect(mango.get_by_role("status")).to_contain_text("Order confirmed: 1 × Mango")
    await expect(mango).to_contain_text("99 in stock")
    order = (await srv.app_engine.sales.list_orders(ROOM, user_id="kim"))[0]
    assert (order["kind"], order["product_id"], order["quantity"]) == ("product", "mango", 1)

    await srv.app_engine.sales.settle(ROOM, order["id"], "cancelled", "shop")
    await expect(mango).to_contain_text("100 in stock")
    await expect(sheet.get_by_role("list", name="My orders")).to_contain_text("Cancelled")


async def test_a_guest_is_sent_to_sign_in_and_comes_back_to_the_room(server, open_page):
    srv = await server(signin_url=SIGNIN)
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    guest = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}"))
    sign_in = pinned(guest).get_by_role("link", name="Sign in to buy")
    href = await sign_in.get_attribute("href")
    assert href.startswith(SHOP + "/login?next=")
    assert unquote(href.split("next=", 1)[1]) == f"{srv.base_url}/rooms/{ROOM}"
    await expect(pinned(guest).get_by_role("button", name="Buy: Monthong durian")).to_be_hidden()
