"""Shoppable replays in real pages: a live session recorded, listed on the room page, played
from its recording in Chromium (hls.js), its timeline taking the video to the moment a product
was pinned, its chat replayed in step, and the product bought at its regular price."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from liveroom.client import RoomClient
from tests.helpers import bearer, eventually, token
from tests.hls.media import live_segments
from tests.signaling.clients import answer, local_offer, post_sdp, publisher_pc

from .conftest import until
from .test_live_video import connected

ROOM = "thailand"
MEDIA = {"ice_addresses": ("127.0.0.1",)}


@pytest.fixture
async def peers():
    opened = []
    yield opened.append
    for pc in opened:
        await pc.close()


async def _record_a_session(srv, peers) -> dict:
    """A host live for a few seconds, who pins the durian and chats, then stops."""
    pc = publisher_pc(video="H264")
    peers(pc)
    host = token(ROOM, "host", user="siam", name="Siam")
    async with aiohttp.ClientSession() as http:
        response = await post_sdp(http, f"{srv.base_url}/whip/rooms/{ROOM}",
                                  await local_offer(pc), host)
        await answer(pc, response)
        session_url = srv.base_url + response.headers["Location"]
        await live_segments(http, srv, count=2)
        async with RoomClient(srv.base_url, ROOM, token=host) as room:
            await room.command("product.pin", product_id="durian")
            await room.command("chat.send", text="Fresh from the orchard today")
            await live_segments(http, srv, count=5)  # a few seconds more after the pin
        async with http.delete(session_url, headers=bearer(host)) as stopped:
            assert stopped.status == 200

        async def finished():
            async with http.get(f"{srv.base_url}/api/rooms/{ROOM}/replays") as listed:
                replays = (await listed.json())["replays"]
            return replays[0] if replays and not replays[0]["recording"] else None

        replay = await eventually(finished, timeout=10, what="the recording finished")
        async with http.get(f"{srv.base_url}/api/rooms/{ROOM}/replays/{replay['id']}") as got:
            return await got.json()


async def test_a_session_is_replayed_with_its_timeline_chat_and_a_product_to_buy(
        server, open_page, peers):
    srv = await server(**MEDIA)
    replay = await _record_a_session(srv, peers)
    pins = [e for e in replay["timeline"] if e["type"] == "product.pinned"]
    assert len(pins) == 1 and pins[0]["product"]["id"] == "durian"
    pinned_at = pins[0]["t"]
    chats = [e for e in replay["timeline"] if e["type"] == "chat.message"]
    assert [c["message"]["text"] for c in chats] == ["Fresh from the orchard today"]
    assert replay["duration"] > pinned_at + 2 and not replay["interrupted"]

    # The lobby lists it among past sessions.
    lobby = await open_page(f"{srv.base_url}/")
    listed = lobby.get_by_role("list", name="Past sessions").get_by_role("link")
    await expect(listed).to_have_attribute("href", replay["page"])

    viewer_token = token(ROOM, "viewer", user="ann", name="Ann")
    page = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}?token={viewer_token}"))
    past = page.get_by_role("list", name="Past sessions").get_by_role("link")
    await expect(past).to_have_count(1)
    await past.click()
    await page.wait_for_url(f"**/rooms/{ROOM}/replays/{replay['id']}")

    # It plays from its recording.
    await until(page, """() => {
        const v = document.querySelector('[data-replay-video]');
        return v && v.videoWidth > 0 && v.currentTime > 0.3;
    }""", timeout=15)
    chat = page.get_by_role("log", name="Chat messages")
    # The timeline takes the video to the moment the durian was pinned.
    timeline = page.get_by_role("list", name="Products and sales")
    mark = timeline.get_by_role("button", name="Monthong durian shown")
    await expect(mark).to_be_visible()
    await page.evaluate("document.querySelector('[data-replay-video]').pause()")
    await page.evaluate("document.querySelector('[data-replay-video]').currentTime = 0")
    await expect(chat.get_by_text("Fresh from the orchard today")).to_be_hidden()
    await mark.click()
    at = await until(page, f"""() => {{
        const v = document.querySelector('[data-replay-video]');
        return !v.seeking && Math.abs(v.currentTime - {pinned_at}) < 1.0 && v.currentTime;
    }}""", timeout=10)
    assert abs(at - pinned_at) < 1.0
    # The chat said at that moment is shown with it.
    await expect(chat.get_by_text("Fresh from the orchard today")).to_be_visible()

    # Bought at the regular price (no sale runs).
    product = page.get_by_role("list", name="Products in this room").get_by_role(
        "listitem").filter(has_text="Monthong durian")
    await product.get_by_role("button", name="Buy: Monthong durian").click()
    await expect(product.get_by_role("status")).to_contain_text(
        "Order confirmed: 1 × Monthong durian, THB 890.00")
    # Watching a recording is not watching the show: the room's live audience stays empty.
    moderator = token(ROOM, "moderator", user="mod", name="Mod")
    async with RoomClient(srv.base_url, ROOM, token=moderator) as room:
        assert room.snapshot["viewers"] == 0
