"""The demo as a visitor meets it (`liveroom serve --demo`): six rooms in the lobby in the
visitor's language, the Thai room's test card playing on a phone with a flash sale running,
its still on the lobby's card once somebody watches. These are the README's pictures."""

from __future__ import annotations

from playwright.async_api import expect

from liveroom.client import RoomClient
from liveroom.domain.sales import sale_from_input
from liveroom.engine import ENGINE
from liveroom.server.app import create_app
from tests.helpers import token

from .conftest import save_screenshot, until
from .test_live_video import MEDIA

ROOM = "thailand"


async def test_the_demo_in_russian_on_a_phone_and_on_a_desktop(make_settings, aiohttp_server,
                                                                open_page):
    app = create_app(make_settings("memory", demo=True, **MEDIA))
    srv = await aiohttp_server(app)
    base = str(srv.make_url("")).rstrip("/")
    engine = app[ENGINE]
    product = await engine.store.get_product(ROOM, "monthong-durian")
    await engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 200, "duration": 900, "per_user_limit": 2, "price": "590.00"}, product,
        room=ROOM, by="mod-thailand", rates={"CNY": "1", "THB": "0.2", "RUB": "0.088",
                                             "USD": "7.2"}))
    async with RoomClient(base, ROOM, token=token(ROOM, user="ann", name="Anna")) as ann, \
            RoomClient(base, ROOM, token=token(ROOM, user="li", name="Li Wei")) as li:
        await ann.chat("Здравствуйте! Дуриан спелый?")
        await li.chat("How many durians in a box?")
        await ann.chat("Доставка в Москву есть?")

        phone = await open_page(
            f"{base}/rooms/{ROOM}?token={token(ROOM, user='mei', name='Mei')}",
            width=360, height=740, locale="ru-RU")
        await expect(phone.locator("[data-room-title]").first).to_have_text(
            "Эксклюзивный эфир из Таиланда")  # the room's own Russian title
        await until(phone, "() => document.querySelector('[data-video]').currentTime > 1",
                    timeout=20)
        await phone.get_by_role("button", name="Купить: Дуриан Монтонг").click()
        await expect(phone.get_by_role("list", name="Флеш-распродажи")).to_contain_text(
            "Заказ оформлен: 1 × Дуриан Монтонг")
        await phone.get_by_role("button", name="Поставить лайк эфиру").click()
        await save_screenshot(phone, "phone-room")

        desktop = await open_page(f"{base}/rooms/{ROOM}", width=1366, height=768)
        await until(desktop, "() => document.querySelector('[data-video]').currentTime > 1",
                    timeout=20)
        await expect(desktop.get_by_role("region", name="Pinned product")).to_contain_text(
            "Monthong durian")
        await save_screenshot(desktop, "room-desktop")

        lobby = await open_page(f"{base}/", width=1366, height=900, locale="ru-RU")
        cards = lobby.get_by_role("list", name="Комнаты").get_by_role("listitem")
        await expect(cards).to_have_count(6)
        await expect(cards.filter(has_text="Эксклюзивный эфир из Италии")).to_have_count(1)
        thai = cards.filter(has_text="Эксклюзивный эфир из Таиланда")
        await expect(thai.locator(".room-thumb-image")).to_be_visible(timeout=20_000)
        await save_screenshot(lobby, "lobby")
