"""The pages over HTTP: security headers, the page token's cookie, the first paint rendered with
the room's live state, shared-link tags, compressed and cached static files, and the strings a
page needs to switch language in place."""

from __future__ import annotations

import gzip
import re

import aiohttp
import pytest

from liveroom.domain.sales import sale_from_input

from ..helpers import token

ROOM = "thailand"


@pytest.fixture
async def site(server):
    srv = await server()
    async with aiohttp.ClientSession(base_url=srv.base_url,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        session.srv = srv
        yield session


def _policy(headers) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in
            headers["Content-Security-Policy"].split(";") if part.strip()}


async def test_every_page_sends_the_security_headers(site):
    for path in ("/", f"/rooms/{ROOM}", "/rooms/nowhere", "/api/rooms"):
        async with site.get(path) as response:
            headers = response.headers
            policy = _policy(headers)
            assert "unsafe-inline" not in headers["Content-Security-Policy"], path
            assert "unsafe-eval" not in headers["Content-Security-Policy"], path
            assert policy["script-src"] == "script-src 'self'"
            assert policy["style-src"] == "style-src 'self'"
            assert policy["frame-ancestors"] == "frame-ancestors 'none'"
            assert policy["object-src"] == "object-src 'none'"
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
            assert headers["Server"] == "liveroom"  # no version to look up exploits for
            assert "no-store" not in headers.get("Cache-Control", "")


async def test_staff_pages_and_pages_with_a_token_are_not_kept_and_send_no_referrer(site):
    for path in (f"/console/{ROOM}?token={token(ROOM, 'moderator', user='mod')}",
                 f"/studio/{ROOM}?token={token(ROOM, 'host', user='siam')}",
                 f"/rooms/{ROOM}?token={token(ROOM, user='mei')}",
                 f"/console/{ROOM}"):  # refused, and still a staff page
        async with site.get(path) as response:
            assert response.headers["Cache-Control"] == "no-store", path
            assert response.headers["Referrer-Policy"] == "no-referrer", path


async def test_a_page_opened_with_a_token_lets_its_reload_in_through_a_cookie(site):
    moderator = token(ROOM, "moderator", user="mod")
    async with site.get(f"/console/{ROOM}?token={moderator}") as first:
        assert first.status == 200
        cookie = first.cookies["liveroom_token"]
        assert cookie.value == moderator
        assert cookie["path"] == f"/console/{ROOM}"
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        assert "max-age" not in cookie or not cookie["max-age"]  # ends with the session
    async with site.get(f"/console/{ROOM}") as reload:  # the address bar has no token now
        assert reload.status == 200
        assert "Moderator console" in await reload.text()
    # The cookie is the console's: another page of the room is not opened with it.
    async with site.get(f"/studio/{ROOM}") as other:
        assert other.status == 401
    # The switcher never puts the token back in an address.
    async with site.get(f"/console/{ROOM}?token={moderator}&lang=zh") as switched:
        assert f'value="{moderator}"' not in await switched.text()


async def test_a_cookie_whose_token_is_refused_is_cleared(site):
    expired = token(ROOM, "moderator", user="mod", ttl=-60)
    site.cookie_jar.update_cookies({"liveroom_token": expired})
    async with site.get(f"/console/{ROOM}") as response:
        assert response.status == 401
        assert response.cookies["liveroom_token"].value == ""  # told to forget it


async def test_the_room_page_is_rendered_with_its_live_state(site):
    engine = site.srv.app_engine
    product = await engine.store.get_product(ROOM, "durian")
    await engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 30, "duration": 300, "price": "99.00"}, product, room=ROOM, by="mod",
        rates={"CNY": "1", "THB": "0.2", "USD": "7.2"}))
    await engine.store.pin(ROOM, "durian", "mod")
    async with site.get(f"/rooms/{ROOM}", headers={"Accept-Language": "en"}) as response:
        html = await response.text()
    pinned = html[html.index("data-pinned>"):]
    assert '<h3 class="product-name" id="pinned-name">Monthong durian</h3>' in pinned
    assert "THB\u00a0890.00" in pinned and "≈ $24.72" in pinned and "100 in stock" in pinned
    card = html[html.index('<li class="sale-card"'):]
    assert '<span class="sale-price-main">THB\u00a099.00</span>' in card
    assert '<s class="sale-price-regular">THB\u00a0890.00</s>' in card
    assert "−89%" in card
    assert '<progress class="stock-bar" max="30" value="30"' in card
    # Nobody is live: the offline state, not a spinner, from the first paint.
    assert re.search(r'data-video-state="offline"', html)
    assert re.search(r'<div class="video-spinner" data-video-spinner hidden>', html)
    assert '<meta property="og:title" content="Thailand live">' in html
    assert '<meta property="og:description" content="Hosted by Siam Orchard">' in html
    assert 'property="og:image"' not in html  # a still only while live


async def test_the_first_paint_speaks_the_readers_language_and_shows_its_content(site):
    engine = site.srv.app_engine
    room = {**await engine.store.get_room(ROOM),
            "translations": {"th": {"title": "ห้องไลฟ์ไทย"}}}
    await engine.store.update_room(room)
    product = await engine.store.get_product(ROOM, "durian")
    await engine.store.put_product(
        ROOM, {**product, "translations": {"th": {"name": "ทุเรียนหมอนทอง"}}}, create=False)
    await engine.store.pin(ROOM, "durian", "mod")
    async with site.get(f"/rooms/{ROOM}", headers={"Accept-Language": "th"}) as response:
        html = await response.text()
    assert "<title>ห้องไลฟ์ไทย · Liveroom</title>" in html
    assert "ทุเรียนหมอนทอง" in html
    assert "≈ ฿" not in html and "฿890.00" in html  # Thai: the product's own baht, no second
    async with site.get(f"/rooms/{ROOM}", headers={"Accept-Language": "ru"}) as response:
        html = await response.text()
    assert "<title>Thailand live · Liveroom</title>" in html  # no Russian: the room's own
    assert "≈ 2\u00a0022,73\u00a0₽" in html  # Russian: roubles (890 × 0.2 / 0.088)


async def test_static_files_are_compressed_and_versioned_ones_cached_for_good(site):
    async with site.get(f"/rooms/{ROOM}") as page:
        html = await page.text()
    script = re.search(r'src="(/static/v/[0-9a-f]+/js/room\.js)"', html)[1]
    async with site.get(script, headers={"Accept-Encoding": "gzip"},
                        auto_decompress=False) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.content_type == "text/javascript"
        body = gzip.decompress(await response.read())
        etag = response.headers["ETag"]
    assert b"RoomChannel" in body
    async with site.get(script, headers={"If-None-Match": etag}) as again:
        assert again.status == 304
    # Relative imports stay within the version.
    async with site.get(script.replace("room.js", "channel.js")) as imported:
        assert imported.status == 200
    async with site.get("/static/products/monthong-durian.svg") as plain:
        assert plain.headers["Cache-Control"] == "no-cache"
        assert plain.content_type == "image/svg+xml"
    async with site.get("/static/v/0000/js/room.js") as old_version:
        assert old_version.status == 200 and old_version.headers["Cache-Control"] == "no-cache"
    async with site.get("/static/js/nothing.js") as missing:
        assert missing.status == 404


async def test_a_page_gets_every_string_of_another_language_to_switch_in_place(site):
    async with site.get("/i18n/ru") as response:
        assert response.status == 200
        assert response.cookies["liveroom_lang"].value == "ru"
        data = await response.json()
    assert (data["lang"], data["locale"], data["currency"]) == ("ru", "ru", "RUB")
    assert data["messages"]["Pinned product"] == "Закреплённый товар"  # a template's string
    assert data["messages"]["Connected"] == "Подключено"  # a script's
    async with site.get("/i18n/xx") as unknown:
        assert unknown.status == 404
