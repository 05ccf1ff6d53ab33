"""Webhooks as an attacker would use them: a receiver that redirects (to lose orders, or to
collect signed deliveries elsewhere), and webhook URLs aimed at the server's own machine or at
its cloud's metadata service, at configuration and after DNS changed."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from liveroom.client import RoomClient

from ..helpers import admin_token, bearer, eventually, token

ROOM = "thailand"
HOOK_SECRET = "hook-secret-0123456789"


class Recorder:
    """A real HTTP endpoint that records every request, whatever its method and path."""

    def __init__(self, answers: list[web.Response] | None = None) -> None:
        self.requests: list[dict] = []
        self.answers = answers or []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"method": request.method, "path": request.path,
                              "headers": dict(request.headers), "body": await request.read()})
        return self.answers.pop(0) if self.answers else web.Response(status=204)


async def _listen(aiohttp_server, recorder: Recorder) -> Recorder:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    srv = await aiohttp_server(app)
    recorder.url = str(srv.make_url("/hooks"))
    return recorder


async def _order(base_url: str, user: str = "ann") -> dict:
    async with aiohttp.ClientSession(base_url=base_url) as api:
        response = await api.post(f"/api/rooms/{ROOM}/sales",
                                  headers=bearer(token(ROOM, "host")),
                                  json={"product_id": "durian", "stock": 5, "duration": 60})
        sale = await response.json()
    async with RoomClient(base_url, ROOM, token=token(ROOM, user=user)) as client:
        return (await client.buy(sale["id"], 1))["order"]


async def _deliveries(base_url: str) -> list[dict]:
    async with aiohttp.ClientSession() as http:
        answer = await http.get(f"{base_url}/api/rooms/{ROOM}/webhook/deliveries",
                                headers=bearer(admin_token()))
        return list(reversed((await answer.json())["deliveries"]))  # oldest first


async def test_webhook_receiver_redirecting_elsewhere_is_a_failed_attempt_not_a_delivery(
        server, aiohttp_server):
    elsewhere = await _listen(aiohttp_server, Recorder())
    stolen = elsewhere.url.replace("/hooks", "/stolen")
    receiver = await _listen(aiohttp_server, Recorder([
        web.Response(status=302, headers={"Location": stolen}),
        web.Response(status=308, headers={"Location": stolen}),
    ]))
    srv = await server(webhook_allowed_networks=("127.0.0.0/8",))
    async with aiohttp.ClientSession() as http:
        response = await http.put(f"{srv.base_url}/api/rooms/{ROOM}/webhook",
                                  headers=bearer(admin_token()),
                                  json={"url": receiver.url, "secret": HOOK_SECRET})
        assert response.status == 200
    order = await _order(srv.base_url)

    async def delivered():
        log = await _deliveries(srv.base_url)
        return log if any(d["delivered"] for d in log) else None
    log = await eventually(delivered, timeout=30, what="the delivery after two redirects")
    assert [(d["status"], d["delivered"]) for d in log] == [
        (302, False), (308, False), (204, True)]
    assert "not followed" in log[0]["error"] and stolen in log[0]["error"]
    assert log[1]["next_attempt_in"] > 0  # retried, with backoff
    # The receiver got the signed POST three times; the redirect target never saw anything.
    assert [r["method"] for r in receiver.requests] == ["POST"] * 3
    assert order["id"].encode() in receiver.requests[-1]["body"]
    assert elsewhere.requests == []


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/hooks",
    "http://localhost:{port}/hooks",
    "http://[::1]:{port}/hooks",
    "http://[::ffff:127.0.0.1]:{port}/hooks",
    "http://0.0.0.0:{port}/hooks",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[fe80::1]:{port}/hooks",
])
async def test_webhook_aimed_at_this_machine_or_cloud_metadata_is_refused_at_configuration(
        server, target):
    srv = await server()
    port = srv.base_url.rsplit(":", 1)[1]
    url = target.format(port=port)
    admin = bearer(admin_token())
    async with aiohttp.ClientSession(base_url=srv.base_url) as http:
        response = await http.put(f"/api/rooms/{ROOM}/webhook", headers=admin,
                                  json={"url": url, "secret": HOOK_SECRET})
        error = (await response.json())["error"]
        assert (response.status, error["code"], error["field"]) == (400, "invalid_field", "url")
        assert "LIVEROOM_WEBHOOK_ALLOWED_NETWORKS" in error["message"]
        assert (await http.get(f"/api/rooms/{ROOM}/webhook", headers=admin)).status == 404


async def test_webhook_to_this_machine_is_accepted_when_the_operator_allows_it(server):
    srv = await server(webhook_allowed_networks=("127.0.0.0/8",))
    async with aiohttp.ClientSession(base_url=srv.base_url) as http:
        response = await http.put(f"/api/rooms/{ROOM}/webhook", headers=bearer(admin_token()),
                                  json={"url": "http://localhost:9/hooks",
                                        "secret": HOOK_SECRET})
        assert response.status == 200, await response.text()
        refused = await http.put(f"/api/rooms/{ROOM}/webhook", headers=bearer(admin_token()),
                                 json={"url": "http://no-such-host.invalid/hooks",
                                       "secret": HOOK_SECRET})
        assert (await refused.json())["error"]["field"] == "url"  # a typo shows at once


async def test_webhook_host_that_turns_to_loopback_after_configuration_is_not_sent_to(
        server, aiohttp_server):
    """What DNS rebinding or a changed record does: the URL was accepted when its host
    pointed elsewhere, and now points at this machine. Every delivery checks again."""
    receiver = await _listen(aiohttp_server, Recorder())
    port = receiver.url.rsplit(":", 1)[1].split("/")[0]
    srv = await server()  # loopback not allowed
    engine = srv.app_engine
    await engine.sales.set_webhook(ROOM, {"url": f"http://localhost:{port}/hooks",
                                          "secret": HOOK_SECRET})
    await _order(srv.base_url)

    async def attempts(n):
        log = await _deliveries(srv.base_url)
        return log if len(log) >= n else None
    first = (await eventually(lambda: attempts(1), timeout=20, what="a first attempt"))[0]
    assert not first["delivered"] and first["status"] is None
    assert "loopback" in first["error"]
    # The same through an IP literal, which no resolver sees.
    await engine.sales.set_webhook(ROOM, {"url": f"http://127.0.0.1:{port}/hooks",
                                          "secret": HOOK_SECRET})
    second = (await eventually(lambda: attempts(2), timeout=20, what="a second attempt"))[1]
    assert not second["delivered"] and second["error"].startswith("refused:")
    assert second["next_attempt_in"] > 0  # still pending: delivered once the URL is fixed
    assert receiver.requests == []
