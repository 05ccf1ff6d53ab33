"""The room on a 360x740 phone, in each of the seven languages: the video fills the screen, the
chat input and the Buy button are on screen without scrolling, nothing scrolls sideways, no text
is cut off (placeholders included), every tap target is at least 44 px; and a host filming
upright fills the screen while a landscape one is shown whole."""

from __future__ import annotations

import aiohttp
import av
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack
from playwright.async_api import Page, expect

from liveroom.domain.sales import sale_from_input
from tests.helpers import token

from .conftest import until
from .test_pages import ROOM

PHONE = {"width": 360, "height": 740}
HOST = token(ROOM, "host", user="siam")
LOCALES = ["zh-CN", "en-US", "th-TH", "es-ES", "it-IT", "ru-RU", "vi-VN"]
CONNECTED = {"zh-CN": "已连接", "en-US": "Connected", "th-TH": "เชื่อมต่อแล้ว",
             "es-ES": "Conectado", "it-IT": "Connesso", "ru-RU": "Подключено",
             "vi-VN": "Đã kết nối"}

# What a person would call a problem on a phone, found in the page itself.
AUDIT = """() => {
  const vw = innerWidth, vh = innerHeight, problems = [];
  const shown = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden") return false;
    }
    const closed = el.closest("details:not([open])");
    if (closed && !closed.querySelector(":scope > summary").contains(el)) return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1;  // visually hidden text is 1 px: for screen readers
  };
  const name = (el) => `${el.tagName.toLowerCase()}.${el.className} "${(el.textContent || el.placeholder || "").trim().slice(0, 40)}"`;
  const scroller = (el) => el.matches(".chat-list, [data-products-sheet]");
  for (const el of document.querySelectorAll("main *, header *")) {
    if (!shown(el)) continue;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (text && !scroller(el) && (s.overflowX !== "visible" || s.overflowY !== "visible" || s.textOverflow !== "clip")) {
      if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) problems.push(`cut off: ${name(el)}`);
    }
    if (text && (r.right > vw + 0.5 || r.left < -0.5)) problems.push(`beyond the screen: ${name(el)}`);
    if (el.matches("button, a[href], input, select, summary") && r.bottom > 0 && r.top < vh
        && (r.width < 44 || r.height < 44)) problems.push(`tap target ${Math.round(r.width)}x${Math.round(r.height)}: ${name(el)}`);
  }
  const canvas = document.createElement("canvas").getContext("2d");
  for (const input of document.querySelectorAll("input[placeholder]")) {
    if (!shown(input) || !input.placeholder || input.value) continue;
    const s = getComputedStyle(input);
    canvas.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    if (canvas.measureText(input.placeholder).width > room + 0.5) problems.push(`placeholder cut off: ${name(input)}`);
  }
  const page = document.scrollingElement;
  if (page.scrollWidth > vw) problems.push(`scrolls sideways by ${page.scrollWidth - vw} px`);
  if (page.scrollHeight > vh) problems.push(`scrolls down by ${page.scrollHeight - vh} px`);
  return problems;
}"""


async def on_screen(page: Page, selector: str) -> None:
    """The element is visible and wholly inside the viewport (no scrolling needed)."""
    box = await page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= PHONE["width"] + 0.5, (selector, box)
    assert box["y"] + box["height"] <= PHONE["height"] + 0.5, (selector, box)


async def audited(page: Page, state: str) -> None:
    problems = await page.evaluate(AUDIT)
    assert problems == [], f"{state}: {problems}"


async def _room_with_a_sale(srv) -> dict:
    engine = srv.app_engine
    product = await engine.store.get_product(ROOM, "durian")
    sale = await engine.sales.create_sale(ROOM, sale_from_input(
        {"stock": 30, "duration": 600, "per_user_limit": 2, "price": "99.00"}, product,
        room=ROOM, by="mod", rates={"CNY": "1", "THB": "0.2", "USD": "7.2", "EUR": "7.8",
                                    "RUB": "0.088", "VND": "0.00028"}))
    await engine.store.pin(ROOM, "mango", "mod")
    for n, text in enumerate(("Sawasdee ka!", "Is the durian ripe? 🍈", "Ship to Shanghai?",
                              "Ура, распродажа!", "Xin chào")):
        await engine.store.post_chat(ROOM, {"id": f"m{n:015d}", "user_id": f"u{n}",
                                            "name": f"Viewer {n}", "role": "viewer",
                                            "text": text, "ts": 1_795_872_181_622 + n},
                                     privileged=False)
    return sale


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_room_fits_a_phone_in_every_language(server, open_page, locale):
    srv = await server()
    sale = await _room_with_a_sale(srv)
    mei = token(ROOM, user="mei", name="Mei")
    shopper = await open_page(f"{srv.base_url}/rooms/{ROOM}?token={mei}", locale=locale, **PHONE)
    await expect(shopper.get_by_role("status").filter(has_text=CONNECTED[locale])).to_be_visible()
    await expect(shopper.locator("[data-chat] li")).to_have_count(5)

    # The stage is the screen; the chat input, the sale's Buy and the bar's buttons are on it.
    await on_screen(shopper, "#video")
    stage = await shopper.locator("#video").bounding_box()
    assert (stage["x"], stage["y"], stage["width"], stage["height"]) == (0, 0, 360, 740)
    await on_screen(shopper, "#chat-text")
    await on_screen(shopper, f'[data-sale-id="{sale["id"]}"] .btn-buy')
    await expect(shopper.locator(f'[data-sale-id="{sale["id"]}"] .btn-buy')).to_be_enabled()
    await on_screen(shopper, "[data-like]")
    await on_screen(shopper, "[data-sheet-open]")
    await on_screen(shopper, ".stock-bar")
    await audited(shopper, "a live sale")

    # The sale is over: the pinned product's card and its Buy take its place.
    await srv.app_engine.sales.finish_sale(ROOM, sale["id"], "ended", "mod")
    await expect(shopper.locator("[data-pinned] .btn-buy")).to_be_visible(timeout=20_000)
    await on_screen(shopper, "[data-pinned] .btn-buy")
    await audited(shopper, "the pinned product")

    # The products open as a sheet over the video, each with its Buy.
    await shopper.locator("[data-sheet-open]").click()
    sheet = shopper.locator("[data-products-sheet]")
    await expect(sheet.get_by_role("list", name=None).first).to_be_visible()
    await expect(sheet.locator(".shelf-item")).to_have_count(2)
    await audited(shopper, "the product sheet")
    await shopper.keyboard.press("Escape")

    # A guest: the name form and the way to sign in, in the same space.
    guest = await open_page(f"{srv.base_url}/rooms/{ROOM}", locale=locale, **PHONE)
    await expect(guest.get_by_role("status").filter(has_text=CONNECTED[locale])).to_be_visible()
    await on_screen(guest, "#display-name")
    await audited(guest, "a guest")


class Upright(VideoStreamTrack):
    """A host filming a phone upright (9:16), or a landscape camera (16:9)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self.size = (width, height)

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(*self.size, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([90]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


async def _publish(srv, width: int, height: int) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver(Upright(width, height), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{srv.base_url}/whip/rooms/{ROOM}", data=pc.localDescription.sdp,
                             headers={"Content-Type": "application/sdp",
                                      "Authorization": f"Bearer {HOST}"}) as response:
            assert response.status == 201, await response.text()
            answer = await response.text()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc


@pytest.mark.parametrize("size, aspect, fit", [((360, 640), "portrait", "cover"),
                                               ((640, 360), "landscape", "contain")])
async def test_an_upright_host_fills_the_phone_and_a_landscape_one_shows_whole(
        server, open_page, size, aspect, fit):
    srv = await server(ice_addresses=("127.0.0.1",))
    pc = await _publish(srv, *size)
    try:
        viewer = await open_page(f"{srv.base_url}/rooms/{ROOM}", **PHONE)
        await until(viewer, "() => document.querySelector('[data-video]').videoWidth > 0")
        await expect(viewer.locator("#video")).to_have_attribute("data-aspect", aspect)
        assert await viewer.evaluate(
            "getComputedStyle(document.querySelector('[data-video]')).objectFit") == fit
        box = await viewer.locator("[data-video]").bounding_box()
        assert (box["width"], box["height"]) == (360, 740)  # the element is the whole screen
    finally:
        await pc.close()
