"""Live video in real pages: a host goes live from the studio with Chromium's fake camera, and
a viewer page plays it; the lobby shows the room live. The server relays over loopback."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.helpers import eventually, token

from .conftest import until

ROOM = "thailand"
MEDIA = {"ice_addresses": ("127.0.0.1",)}


async def connected(page: Page) -> Page:
    await expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    return page


async def playing(page: Page, selector: str) -> None:
    """The video shows frames: it has a size and its time advances."""
    await until(page, f"""() => {{
        const v = document.querySelector({selector!r});
        return v && v.videoWidth > 0 && v.currentTime > 0.5;
    }}""", timeout=15)
    before = await page.evaluate(f"document.querySelector({selector!r}).currentTime")
    await until(page, f"() => document.querySelector({selector!r}).currentTime > {before} + 0.3",
                timeout=10)


async def go_live(open_page, srv) -> Page:
    return await go_live_at(open_page, srv.base_url)


async def go_live_at(open_page, base_url: str) -> Page:
    studio = await connected(await open_page(
        f"{base_url}/studio/{ROOM}?token={token(ROOM, 'host', user='siam', name='Siam')}"))
    await studio.get_by_role("button", name="Go live").click()
    await expect(studio.get_by_role("status").filter(has_text="You are live.")).to_be_visible(
        timeout=15_000)
    await playing(studio, "[data-preview]")
    return studio


async def test_a_host_goes_live_from_the_studio_and_a_viewer_page_plays_it(server, open_page):
    srv = await server(**MEDIA)
    viewer = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}"))
    await expect(viewer.get_by_text("is offline")).to_be_visible()

    studio = await go_live(open_page, srv)
    await expect(studio.get_by_role("button", name="Stop")).to_be_visible()
    # Device choice, once the camera is allowed.
    await expect(studio.get_by_role("combobox", name=re.compile("^Camera"))).to_be_visible()
    await expect(studio.get_by_role("combobox", name=re.compile("^Microphone"))).to_be_visible()

    await playing(viewer, "[data-video]")
    await expect(viewer.locator("#video")).to_have_attribute("data-video-state", "playing")
    await expect(viewer.get_by_role("button", name="Unmute")).to_be_visible()
    assert await viewer.evaluate("document.querySelector('[data-video]').muted")

    await studio.get_by_role("button", name="Turn camera off").click()
    await expect(studio.get_by_role("button", name="Turn camera on")).to_be_visible()

    await studio.get_by_role("button", name="Stop").click()
    await expect(viewer.get_by_text("is offline")).to_be_visible()
    await eventually(lambda: not srv.app_engine.media._claims.get(ROOM), what="no claim")

    # Back live: the viewer page resumes by itself.
    await studio.get_by_role("button", name="Go live").click()
    await playing(viewer, "[data-video]")


async def test_the_lobby_switches_a_room_to_live(server, open_page):
    srv = await server(**MEDIA)
    lobby = await open_page(f"{srv.base_url}/")
    card = lobby.get_by_role("list", name="Rooms").get_by_role("listitem").filter(
        has_text="Thailand live")
    await expect(card).to_have_attribute("data-live", "false")
    await expect(card.get_by_text("Live", exact=True)).to_be_hidden()

    await go_live(open_page, srv)

    await expect(card).to_have_attribute("data-live", "true")  # the lobby refreshes by itself
    await expect(card.get_by_text("Live", exact=True)).to_be_visible()
