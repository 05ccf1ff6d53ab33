"""A guest in Chromium keeps who they are: after choosing a name, a reload that presents no
token (storage cleared: a fresh tab, a privacy tool) is the same guest, by the HttpOnly cookie
the page had the server set, so a mute and a ban stick and the name stays."""

from __future__ import annotations

import json

import jwt
from playwright.async_api import expect

from liveroom.domain.public_ids import public_user_id
from tests.helpers import SECRET, eventually

from .test_pages import ROOM, connected


def _record_channel(page, frames: list[dict]) -> None:
    """Every frame the room channel's server sends, as the page receives it."""
    def on_socket(ws):
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))
    page.on("websocket", on_socket)


async def _reload_with_cookie_only(page) -> None:
    await page.evaluate("localStorage.clear(); sessionStorage.clear()")
    await page.reload()


async def test_a_guest_keeps_name_mute_and_ban_across_a_tokenless_reload(server, open_page):
    srv = await server()
    page = await open_page("about:blank")
    frames: list[dict] = []
    _record_channel(page, frames)
    await page.goto(f"{srv.base_url}/rooms/{ROOM}")
    await connected(page)
    await page.get_by_placeholder("Your name").fill("Spammer")
    await page.get_by_placeholder("Your name").press("Enter")
    await expect(page.locator("[data-chat-form]")).to_be_visible()
    guest = next(f["you"]["user_id"] for f in frames if f.get("type") == "welcome")

    async def named_in_cookie() -> dict | None:  # the page hands the named token to the server
        cookie = next(c for c in await page.context.cookies() if c["name"] == "liveroom_guest")
        claims = jwt.decode(cookie["value"], options={"verify_signature": False})
        shown = public_user_id(SECRET, ROOM, claims["sub"])  # what the room shows of them
        return cookie if (shown, claims.get("name")) == (guest, "Spammer") else None
    cookie = await eventually(named_in_cookie, what="the named guest token in the cookie")
    assert (cookie["httpOnly"], cookie["path"]) == (True, "/")
    assert await page.evaluate("document.cookie.includes('liveroom_guest')") is False

    store = srv.app_engine.store
    await store.mute(ROOM, guest, 10**13, "mod")
    frames.clear()
    await _reload_with_cookie_only(page)
    await connected(page)
    welcome = next(f for f in frames if f.get("type") == "welcome")
    assert welcome["you"]["user_id"] == guest and welcome["you"]["name"] == "Spammer"
    assert welcome["you"]["muted_until"] == 10**13

    await store.ban(ROOM, guest, "mod")
    frames.clear()
    await _reload_with_cookie_only(page)

    async def refused() -> bool:
        return any(f.get("type") == "error" and f.get("code") == "banned" for f in frames)
    await eventually(refused, what="the reload refused as banned")
