"""Pages over HTTP in the reader's language and currency, the rates endpoint, and the rates a
flash sale keeps from when it was created (REST and the room channel)."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest

from liveroom.client import RoomClient

from ..helpers import bearer, token

ROOM = "thailand"
RATES = (("CNY", "1"), ("THB", "0.2"), ("USD", "7.2"))


@pytest.fixture
async def site(server):
    srv = await server(currency_rates=RATES)
    # unsafe: keep cookies from an IP address (127.0.0.1), as a browser does.
    async with aiohttp.ClientSession(base_url=srv.base_url,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        session.srv = srv
        yield session


def page_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert match, "the page has no #page-data"
    return json.loads(match[1])


async def test_a_page_speaks_the_browsers_language(site):
    async with site.get(f"/rooms/{ROOM}", headers={"Accept-Language": "th-TH,th;q=0.9"}) as r:
        html = await r.text()
        assert "Accept-Language" in r.headers["Vary"]
    assert '<html lang="th">' in html
    assert "สินค้าที่ปักหมุด" in html  # "Pinned product"
    data = page_data(html)
    assert data["lang"] == "th"
    assert data["messages"]["Connected"] == "เชื่อมต่อแล้ว"  # a string only the script shows
    assert data["messages"]["Buy now"] == "ซื้อเลย"


async def test_the_switcher_sets_a_cookie_that_wins_over_the_browser(site):
    async with site.get("/?lang=ru&currency=USD", headers={"Accept-Language": "zh-CN"}) as r:
        assert r.cookies["liveroom_lang"].value == "ru"
        assert r.cookies["liveroom_currency"].value == "USD"
        assert "Прямые эфиры" in await r.text()
    async with site.get(f"/rooms/{ROOM}", headers={"Accept-Language": "zh-CN"}) as r:
        data = page_data(await r.text())
    assert (data["lang"], data["currency"]) == ("ru", "USD")
    assert data["rates"] == dict(RATES)


async def test_the_switcher_keeps_a_staff_page_working_without_its_token(site):
    tok = token(ROOM, "moderator", user="mod")
    async with site.get(f"/console/{ROOM}?token={tok}") as first:
        assert first.status == 200
    async with site.get(f"/console/{ROOM}?lang=zh") as r:  # what the switcher submits
        html = await r.text()
        assert r.status == 200
    assert tok not in html  # never carried into an address again
    assert "管理控制台" in html


async def test_user_text_in_a_translated_sentence_is_escaped(site):
    async with site.get("/rooms/%3Cb%3Ex%3C%2Fb%3E", headers={"Accept-Language": "es"}) as r:
        assert r.status == 404
        html = await r.text()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "No hay ninguna sala llamada" in html


async def test_the_rates_endpoint(site):
    async with site.get("/api/currency-rates") as r:
        assert await r.json() == {"base": "CNY", "rates": dict(RATES)}


async def test_a_sale_stores_the_rates_in_force_when_it_is_created(site):
    srv = site.srv
    body = {"product_id": "durian", "stock": 10, "duration": 60, "price": "99.00"}
    async with site.post(f"/api/rooms/{ROOM}/sales", json=body,
                         headers=bearer(token(ROOM, "moderator", user="mod"))) as r:
        assert r.status == 201
        sale = await r.json()
    assert sale["rates"] == dict(RATES)
    async with site.get(f"/api/rooms/{ROOM}/sales/{sale['id']}") as r:
        assert (await r.json())["rates"] == dict(RATES)

    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, "moderator", user="mod")) as mod:
        ack = await mod.command("sale.create", product_id="durian", stock=5, duration=60)
        assert ack["sale"]["rates"] == dict(RATES)
        listed = {s["id"]: s for s in mod.snapshot["sales"]}
        assert listed[sale["id"]]["rates"] == dict(RATES)
