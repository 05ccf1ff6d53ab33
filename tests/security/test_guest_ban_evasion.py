"""Ban and mute evasion by guests: a banned or muted guest who reconnects without a token is
still banned or muted, and keeps their name; a fresh guest identity is no way around slow
mode. A browser keeps its guest identity in a cookie; a script that keeps nothing is its
address's guest."""

from __future__ import annotations

import aiohttp

from ..helpers import token
from .guests import browser, command, join, script

MOD = token("thailand", "moderator", user="mod")


async def _moderate(base_url: str, cmd: str, **fields) -> dict:
    async with aiohttp.ClientSession() as http:
        ws, welcome = await join(http, base_url, MOD)
        assert welcome["type"] == "welcome"
        answer = await command(ws, 1, cmd, **fields)
        await ws.close()
        return answer


async def _name(http: aiohttp.ClientSession, base_url: str, ws, name: str) -> str:
    """Choose a name as the room page does: profile.set, then the browser keeps the token."""
    ack = await command(ws, 1, "profile.set", name=name)
    assert ack["type"] == "ack"
    kept = await http.put(f"{base_url}/api/guest", json={"guest_token": ack["guest_token"]})
    assert kept.status == 200
    return ack["guest_token"]


async def test_a_banned_guest_who_reconnects_without_a_token_is_still_banned(server):
    srv = await server()
    async with browser() as http:
        ws, welcome = await join(http, srv.base_url)
        guest = welcome["you"]["user_id"]
        await _name(http, srv.base_url, ws, "Spammer")
        assert (await command(ws, 2, "chat.send", text="buy my stuff"))["type"] == "ack"
        await ws.close()
        assert (await _moderate(srv.base_url, "user.ban", user_id=guest))["type"] == "ack"
        ws, refused = await join(http, srv.base_url)  # no token: the browser's cookie only
        assert (refused["type"], refused["code"]) == ("error", "banned")
        await ws.receive(timeout=10)
        assert ws.close_code == 4403


async def test_a_muted_guest_who_reconnects_is_still_muted_and_keeps_their_name(server):
    srv = await server()
    async with browser() as http:
        ws, welcome = await join(http, srv.base_url)
        guest = welcome["you"]["user_id"]
        await _name(http, srv.base_url, ws, "Spammer")
        await ws.close()
        answer = await _moderate(srv.base_url, "user.mute", user_id=guest, seconds=600)
        assert answer["type"] == "ack"
        ws, welcome = await join(http, srv.base_url)
        assert welcome["you"]["user_id"] == guest and welcome["you"]["name"] == "Spammer"
        assert welcome["you"]["muted_until"] == answer["until"]
        refused = await command(ws, 2, "chat.send", text="still here")
        assert (refused["type"], refused["code"]) == ("error", "muted")
        await ws.close()


async def test_a_script_that_keeps_nothing_is_its_addresses_guest(server):
    srv = await server()
    async with script() as http:
        ws, first = await join(http, srv.base_url)
        again, second = await join(http, srv.base_url)
        assert first["you"]["user_id"] == second["you"]["user_id"]
        await ws.close()
        await again.close()
        ban = await _moderate(srv.base_url, "user.ban", user_id=first["you"]["user_id"])
        assert ban["type"] == "ack"
        ws, refused = await join(http, srv.base_url)
        assert (refused["type"], refused["code"]) == ("error", "banned")
        await ws.close()


async def test_a_fresh_guest_identity_does_not_bypass_slow_mode(server):
    srv = await server()
    assert (await _moderate(srv.base_url, "room.slow_mode", seconds=60))["type"] == "ack"
    async with browser() as first, browser() as second:  # two identities, one address
        for http in (first, second):  # each opens the room page, which gives it an identity
            assert (await http.get(f"{srv.base_url}/rooms/thailand")).status == 200
        ws1, w1 = await join(first, srv.base_url)
        ws2, w2 = await join(second, srv.base_url)
        assert w1["you"]["user_id"] != w2["you"]["user_id"]
        await _name(first, srv.base_url, ws1, "First")
        await _name(second, srv.base_url, ws2, "Second")
        assert (await command(ws1, 2, "chat.send", text="hello"))["type"] == "ack"
        refused = await command(ws2, 2, "chat.send", text="me too")
        assert (refused["type"], refused["code"]) == ("error", "slow_mode")
        # Signed-in shoppers are themselves, not their address.
        shopper = token("thailand", user="shopper")
        async with aiohttp.ClientSession() as http:
            ws3, _ = await join(http, srv.base_url, shopper)
            assert (await command(ws3, 1, "chat.send", text="a real customer"))["type"] == "ack"
            await ws3.close()
        await ws1.close()
        await ws2.close()


async def test_a_guest_token_never_opens_a_private_room(server):
    srv = await server()
    async with browser() as http:
        ws, welcome = await join(http, srv.base_url)
        guest_token = welcome["guest_token"]
        await ws.close()
    store = srv.app_engine.store
    await store.update_room({**await store.get_room("thailand"), "public": False})
    async with aiohttp.ClientSession() as http:
        ws, refused = await join(http, srv.base_url, guest_token)
        assert (refused["type"], refused["code"]) == ("error", "unauthorized")
        await ws.close()


async def test_banning_an_addresses_guest_keeps_out_every_guest_identity_from_there(server):
    """A guest who sheds their cookie to come back as someone new: the moderator bans the
    guest of their address (`via` in presence.list), and no guest identity from there gets in
    or chats; a signed-in shopper from the same address still does."""
    srv = await server()
    async with browser() as hopper:
        await hopper.get(f"{srv.base_url}/rooms/thailand")
        ws, welcome = await join(hopper, srv.base_url)
        async with aiohttp.ClientSession() as http:
            mod, _ = await join(http, srv.base_url, MOD)
            members = (await command(mod, 1, "presence.list"))["members"]
            via = next(m["via"] for m in members if m["user_id"] == welcome["you"]["user_id"])
            assert (await command(mod, 2, "user.ban", user_id=via))["type"] == "ack"
            await mod.close()
        await ws.close()
    async with browser() as fresh:  # a new browser profile: a new guest identity
        await fresh.get(f"{srv.base_url}/rooms/thailand")
        ws, refused = await join(fresh, srv.base_url)
        assert (refused["type"], refused["code"]) == ("error", "banned")
        await ws.close()
    async with aiohttp.ClientSession() as http:
        ws, welcome = await join(http, srv.base_url, token("thailand", user="shopper"))
        assert welcome["type"] == "welcome"
        await ws.close()
