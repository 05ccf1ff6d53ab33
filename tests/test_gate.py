"""Every surface enters a room through the one room gate: the room channel, the REST API, the
pages, WHIP and WHEP refuse a private room without a token, a token for another room and a
banned viewer alike, each in its own wire form. On both engines."""

from __future__ import annotations

import aiohttp
import pytest

from liveroom.client import ChannelClosed, RoomClient

from .helpers import bearer, token

ROOM = "thailand"
OFFER = "v=0\r\n"  # never read: the gate refuses first

# (surface, how it is asked) -> what a client is told: the code, and how (close code, status)
REST = ["/api/rooms/{room}", "/api/rooms/{room}/products", "/api/rooms/{room}/products/durian",
        "/api/rooms/{room}/sales"]
PAGES = [("/rooms/{room}", "viewer"), ("/studio/{room}", "host"), ("/console/{room}", "moderator")]


@pytest.fixture
async def gated(server):
    """A private room with a banned viewer (and a banned co-host, who may publish)."""
    srv = await server()
    store = srv.app_engine.store
    await store.update_room({**await store.get_room(ROOM), "public": False})
    for user in ("mallory", "eve"):
        await store.ban(ROOM, user, "mod")
    async with aiohttp.ClientSession(base_url=srv.base_url) as http:
        srv.http = http
        yield srv


CALLERS = {
    # who -> (role, user, room of the token) or None for no token; what they are told
    "nobody": (None, "unauthorized", 401),
    "another room": (("viewer", "mei", "chile"), "wrong_room", 403),
    "banned": (("viewer", "mallory", ROOM), "banned", 403),
}


def _token(caller: str, role: str | None = None) -> str | None:
    spec = CALLERS[caller][0]
    if spec is None:
        return None
    default_role, user, room = spec
    return token(room, role or default_role, user=user)


@pytest.mark.parametrize("caller", CALLERS)
async def test_the_room_channel(gated, caller):
    code = CALLERS[caller][1]
    with pytest.raises(ChannelClosed) as refused:
        await RoomClient(gated.base_url, ROOM, token=_token(caller)).connect()
    assert refused.value.error["code"] == code
    assert refused.value.code == {401: 4401, 403: 4403}[CALLERS[caller][2]]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", REST)
async def test_the_rest_api(gated, caller, path):
    _spec, code, status = CALLERS[caller]
    tok = _token(caller)
    async with gated.http.get(path.format(room=ROOM),
                              headers=bearer(tok) if tok else {}) as response:
        assert (response.status, (await response.json())["error"]["code"]) == (status, code)


async def test_the_lobby_lists_a_private_room_only_to_its_members(gated):
    async def listed(tok):
        async with gated.http.get("/api/rooms", headers=bearer(tok) if tok else {}) as r:
            return ROOM in {room["id"] for room in (await r.json())["rooms"]}

    assert not await listed(None)
    assert not await listed(_token("another room"))
    assert await listed(token(ROOM, user="mei"))


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path, role", PAGES)
async def test_the_pages(gated, caller, path, role):
    _spec, _code, status = CALLERS[caller]
    tok = _token(caller, role if caller != "banned" else None)
    query = {"token": tok} if tok else {}
    async with gated.http.get(path.format(room=ROOM), params=query) as response:
        page = await response.text()
    assert response.status == status
    assert "Thailand live" not in page  # nothing of the private room shows


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("kind", ["whip", "whep"])
async def test_whip_and_whep(gated, caller, kind):
    _spec, code, status = CALLERS[caller]
    # A banned co-host may publish by role, so the ban is what refuses it.
    tok = _token(caller, "cohost" if kind == "whip" and caller != "nobody" else None)
    headers = {"Content-Type": "application/sdp", **(bearer(tok) if tok else {})}
    for method, path in (("POST", f"/{kind}/rooms/{ROOM}"),
                         ("PATCH", f"/{kind}/rooms/{ROOM}/sessions/s-1"),
                         ("DELETE", f"/{kind}/rooms/{ROOM}/sessions/s-1")):
        async with gated.http.request(method, path, data=OFFER, headers=headers) as response:
            assert (response.status, (await response.json())["error"]["code"]) == (
                status, code), (method, path)


async def test_the_members_of_a_private_room_get_in_everywhere(gated):
    viewer, host = token(ROOM, user="mei"), token(ROOM, "host", user="siam")
    async with RoomClient(gated.base_url, ROOM, token=viewer) as member:
        assert member.snapshot["room"]["public"] is False
    for path in REST:
        async with gated.http.get(path.format(room=ROOM), headers=bearer(viewer)) as response:
            assert response.status == 200, path
    for path, role in PAGES:
        tok = {"viewer": viewer, "host": host, "moderator": token(ROOM, "moderator")}[role]
        async with gated.http.get(path.format(room=ROOM), params={"token": tok}) as response:
            assert response.status == 200, path
