"""What Chromium itself sees of the pages' safety: the headers, no breach of the Content Security
Policy however the pages are used, no framing by another site, and access tokens that leave the
address bar at once and are never sent on as a Referer, while a reload still works."""

from __future__ import annotations

from playwright.async_api import expect

from liveroom.domain.sales import sale_from_input
from tests.helpers import eventually, token

from .test_pages import ROOM, connected, console_url, open_switcher

# Every breach of the policy the page meets, kept for the test (an init script runs outside
# the page's policy).
RECORD_VIOLATIONS = """
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) =>
    window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


async def test_a_staff_token_leaves_the_address_bar_and_a_reload_still_works(server, open_page):
    srv = await server()
    moderator = token(ROOM, "moderator", user="mod", name="Mod")
    console = await open_page("about:blank")
    response = await console.goto(f"{srv.base_url}/console/{ROOM}?token={moderator}")
    await connected(console)
    assert console.url == f"{srv.base_url}/console/{ROOM}"  # gone before anything loaded
    assert moderator not in await console.evaluate("history.state + location.href")
    assert await console.evaluate(
        f"sessionStorage.getItem('liveroom.token:/console/{ROOM}')") == moderator
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    cookie = next(c for c in await console.context.cookies() if c["name"] == "liveroom_token")
    assert (cookie["path"], cookie["httpOnly"], cookie["sameSite"]) == (
        f"/console/{ROOM}", True, "Strict")
    assert await console.evaluate("document.cookie") == ""  # out of the scripts' reach

    await console.reload()
    await connected(console)
    await expect(console.locator("[data-whoami]")).to_have_text("Mod · moderator")
    assert "token" not in console.url


async def test_no_page_sends_its_address_on_as_a_referer(server, open_page):
    srv = await server()
    await srv.app_engine.store.pin(ROOM, "durian", "mod")
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    await srv.app_engine.store.put_product(
        ROOM, {**product, "image": "https://cdn.example/durian.png"}, create=False)
    shopper = await open_page("about:blank")
    referers = []

    async def cdn(route):
        referers.append(route.request.headers.get("referer"))
        await route.fulfill(status=200, content_type="image/png", body=b"")

    await shopper.context.route("https://cdn.example/**", cdn)
    await shopper.goto(f"{srv.base_url}/rooms/{ROOM}?token={token(ROOM, user='mei')}")
    await connected(shopper)
    await expect(shopper.get_by_role("region", name="Pinned product")).to_contain_text(
        "Monthong durian")
    assert referers and all(r is None for r in referers), referers


async def test_no_page_breaks_the_content_security_policy_in_use(server, open_page):
    srv = await server(ice_addresses=("127.0.0.1",))
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 10, "duration": 300, "price": "99.00"}, product, room=ROOM, by="mod"))
    pages = []
    for path in ("/", f"/rooms/{ROOM}?token={token(ROOM, user='mei', name='Mei')}",
                 f"/studio/{ROOM}?token={token(ROOM, 'host', user='siam', name='Siam')}",
                 console_url(srv).removeprefix(srv.base_url)):
        page = await open_page("about:blank")
        await page.add_init_script(RECORD_VIOLATIONS)
        response = await page.goto(srv.base_url + path)
        policy = response.headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        pages.append(page)
    lobby, room, studio, console = pages
    await connected(room)
    # Use what draws with styles: hearts, the stock bar, a buy, the sheet, the switcher.
    for _ in range(5):
        await room.get_by_role("button", name="Like this live room").click()
    await room.get_by_role("button", name="Buy now: Monthong durian").click()
    await expect(room.get_by_role("list", name="Flash sales")).to_contain_text("Order confirmed")
    await open_switcher(room)
    await room.get_by_label("Language", exact=True).select_option(label="Italiano")
    await expect(room.locator("html")).to_have_attribute("lang", "it")
    await connected(studio)
    await studio.get_by_role("button", name="Go live").click()
    await expect(studio.get_by_role("status").filter(has_text="You are live.")).to_be_visible(
        timeout=15_000)
    await connected(console)
    await expect(lobby.get_by_role("list", name="Rooms").get_by_role("listitem")).to_have_count(1)
    for page in pages:
        assert await page.evaluate("window.__violations") == [], page.url


async def test_another_site_cannot_frame_a_page(server, open_page):
    srv = await server()
    framer = await open_page("about:blank")
    asked = []
    framer.on("request", lambda r: r.url.endswith(f"/rooms/{ROOM}") and asked.append(r))
    await framer.set_content(f'<iframe src="{srv.base_url}/rooms/{ROOM}" width="400"></iframe>')
    await eventually(lambda: asked, what="the framed page to be asked for")
    # Chromium fetched it, read frame-ancestors 'none', and shows its own error page instead.
    await eventually(lambda: len(framer.frames) > 1 and framer.frames[1].url.startswith(
        "chrome-error://"), what="Chromium to refuse the frame")
    assert await framer.frames[1].locator("body.page-room").count() == 0
