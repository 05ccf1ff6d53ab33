"""The command line as an operator and a script use it."""

from __future__ import annotations

import subprocess
import sys

import aiohttp

from liveroom.domain import auth

from ..helpers import SECRET, ServerProcess, free_port


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "liveroom.server", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_token_prints_only_the_token(tmp_path):
    result = _run("token", "--room", "thailand", "--role", "host", "--user", "siam",
                  "--name", "Siam Orchard", "--ttl", "600", "--secret", SECRET)
    assert result.returncode == 0, result.stderr
    tok = result.stdout.strip()
    assert result.stdout == tok + "\n"
    identity = auth.verify(SECRET, tok)
    assert (identity.room, identity.role, identity.user_id, identity.name) == (
        "thailand", "host", "siam", "Siam Orchard")


def test_token_without_a_secret_uses_the_data_dirs_like_the_server(tmp_path):
    result = _run("token", "--room", "*", "--role", "admin", "--user", "op",
                  "--data-dir", str(tmp_path))
    secret = (tmp_path / "secret").read_text()
    assert auth.verify(secret, result.stdout.strip()).role == "admin"


def test_a_bad_role_or_setting_is_refused_with_a_message():
    result = _run("token", "--room", "r", "--role", "king", "--user", "u")
    assert result.returncode == 2 and "king" in result.stderr
    result = _run("serve", env={"LIVEROOM_PORT": "eighty"})
    assert result.returncode == 2 and "LIVEROOM_PORT" in result.stderr


def test_serve_exits_with_a_clear_message_when_redis_is_unreachable():
    result = _run("serve", "--port", str(free_port()), "--redis-url",
                  f"redis://127.0.0.1:{free_port()}", "--secret", SECRET)
    assert result.returncode == 1
    assert "cannot start" in result.stderr and "unreachable" in result.stderr


async def test_serve_demo_prints_its_address_and_working_links(tmp_path):
    server = ServerProcess(None, data_dir=tmp_path, demo=True).start()
    try:
        output = server.log.read_text()
        assert f"Serving on http://127.0.0.1:{server.port}" in output
        assert "Live video (ICE) on 127.0.0.1, " in output  # and this machine's addresses
        host_link = next(line.split()[-1] for line in output.splitlines()
                         if line.strip().startswith("host") and "/studio/thailand" in line)
        token = host_link.split("token=")[1]
        assert auth.verify(SECRET, token).role == "host"
        shopper_link = next(line.split()[-1] for line in output.splitlines()
                            if line.strip().startswith("shopper") and "/rooms/thailand" in line)
        shopper = auth.verify(SECRET, shopper_link.split("token=")[1])
        assert shopper.role == "viewer" and shopper.name  # signed in, so it may buy
        async with aiohttp.ClientSession() as http:
            rooms = await (await http.get(f"{server.url}/api/rooms")).json()
            assert {r["id"] for r in rooms["rooms"]} == {
                "thailand", "chile", "new-zealand", "italy", "russia", "vietnam"}
            for room in rooms["rooms"]:
                assert room["pin"] and len(await _products(http, server.url, room["id"])) >= 3
            console = next(line.split()[-1] for line in output.splitlines()
                           if line.strip().startswith("moderator") and "/console/thai" in line)
            for url in (f"{server.url}/", f"{server.url}/rooms/thailand", host_link, console):
                assert (await http.get(url)).status == 200, url
            # Staff pages need their link's token: the room gate refuses them without it.
            assert (await http.get(f"{server.url}/console/thailand")).status == 401
    finally:
        server.stop()
    # A restart with --demo keeps what is there and adds nothing twice.
    again = ServerProcess(None, data_dir=tmp_path, demo=True).start()
    try:
        async with aiohttp.ClientSession() as http:
            assert len(await _products(http, again.url, "chile")) == 3
    finally:
        again.stop()


async def _products(http: aiohttp.ClientSession, base: str, room: str) -> list:
    return (await (await http.get(f"{base}/api/rooms/{room}/products")).json())["products"]
