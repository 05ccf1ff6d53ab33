"""A viewer page whose server drains: told `draining` and closed with 1012, the page reconnects
by itself at once and resumes where it was, messages sent meanwhile included."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import expect

from liveroom.channel.registry import CONNECTIONS

from .test_pages import ROOM, chat, connected, open_viewer, say


async def test_a_viewer_page_resumes_after_its_server_drains(server, open_page):
    srv = await server()
    viewer = await open_viewer(open_page, srv, name="Kim")
    await say(viewer, "before the restart")

    loop = asyncio.get_running_loop()
    await srv.app[CONNECTIONS].drain(loop.time() + 2)  # what SIGTERM does to the sockets
    await srv.app_engine.store.post_chat(ROOM, {
        "id": "fedcba9876543210", "user_id": "u-ann", "name": "Ann", "role": "viewer",
        "text": "while you were moving", "ts": int(time.time() * 1000),
    }, privileged=False)

    await expect(chat(viewer).filter(has_text="while you were moving")).to_have_count(1)
    await connected(viewer)
    await say(viewer, "after the restart")
    for text in ("before the restart", "while you were moving", "after the restart"):
        await expect(chat(viewer).filter(has_text=text)).to_have_count(1)
    assert await viewer.evaluate("document.body.dataset.channel") != "closed"
