"""The host studio in Chromium with its fake camera: Stop lets go of the camera and the
microphone (every track ended, the preview cleared), and the live panel shows the time live,
the viewers, the running sale's stock and orders, and who just bought."""

from __future__ import annotations

import re

from playwright.async_api import expect

from liveroom.client import RoomClient
from liveroom.domain.sales import sale_from_input
from tests.helpers import token

from .conftest import save_screenshot
from .test_live_video import MEDIA, connected, go_live, playing

ROOM = "thailand"
# Every stream the page gets from the camera, kept where the test can look at its tracks.
KEEP_STREAMS = """
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__streams = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    window.__streams.push(stream);
    return stream;
  };
"""


async def test_stop_releases_the_camera_and_the_microphone(server, open_page):
    srv = await server(**MEDIA)
    studio = await open_page("about:blank")
    await studio.add_init_script(KEEP_STREAMS)
    await studio.goto(
        f"{srv.base_url}/studio/{ROOM}?token={token(ROOM, 'host', user='siam', name='Siam')}")
    await connected(studio)
    await studio.get_by_role("button", name="Go live").click()
    await expect(studio.get_by_role("status").filter(has_text="You are live.")).to_be_visible(
        timeout=15_000)
    await playing(studio, "[data-preview]")
    states = await studio.evaluate(
        "window.__streams.flatMap((s) => s.getTracks().map((t) => t.readyState))")
    assert states and set(states) == {"live"}

    await studio.get_by_role("button", name="Stop").click()
    await expect(studio.get_by_role("status").filter(has_text="You stopped.")).to_be_visible()
    states = await studio.evaluate(
        "window.__streams.flatMap((s) => s.getTracks().map((t) => t.readyState))")
    assert set(states) == {"ended"}, states  # the camera's light goes off
    assert await studio.evaluate("document.querySelector('[data-preview]').srcObject") is None
    await expect(studio.get_by_text("You are offline", exact=True)).to_be_visible()
    await expect(studio.get_by_role("button", name="Turn camera off")).to_be_disabled()

    # Going live again asks for the camera again.
    await studio.get_by_role("button", name="Go live").click()
    await playing(studio, "[data-preview]")
    assert await studio.evaluate("window.__streams.length") == 2


async def test_the_live_panel_follows_the_time_viewers_and_the_sale(server, open_page):
    srv = await server(**MEDIA)
    studio = await go_live(open_page, srv)
    panel = studio.get_by_role("region", name="Your live")
    await expect(panel.locator("[data-live-for]")).to_have_text(
        re.compile(r"^0:0[1-9]$"), timeout=15_000)
    product = await srv.app_engine.store.get_product(ROOM, "durian")
    sale = await srv.app_engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 10, "duration": 300, "per_user_limit": 3, "price": "99.00"}, product,
        room=ROOM, by="mod"))
    await expect(panel).to_contain_text("0 sold in 0 orders · 10 of 10 left")
    async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user="mei", name="Mei")) as mei:
        await expect(panel.locator("[data-live-viewers]")).to_have_text("1", timeout=15_000)
        await mei.buy(sale["id"], 3)
        await expect(panel).to_contain_text("3 sold in 1 orders · 7 of 10 left")
        await expect(panel.get_by_role("list", name="Just bought")).to_contain_text(
            "M***i just bought 3 × Monthong durian")
        await save_screenshot(studio, "studio")
