"""`liveroom rooms|products|orders|log-level` against a real running server, as an operator's
script uses them: output on stdout, the server's error code on stderr, exit status to branch on."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from liveroom.client import RoomClient
from liveroom.server import cli

from ..helpers import ServerProcess, admin_token, free_port, token


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(None, data_dir=tmp_path_factory.mktemp("data")).start()
    yield srv
    srv.stop()


@pytest.fixture
def run(server, capsys, monkeypatch):
    """`liveroom <args>` in this process, at the server, with the operator's token."""
    monkeypatch.setenv("LIVEROOM_URL", server.url)
    monkeypatch.setenv("LIVEROOM_TOKEN", admin_token())

    def run_(*args: str) -> tuple[int, str, str]:
        status = cli.main(list(args))
        out = capsys.readouterr()
        return status, out.out, out.err

    return run_


def test_rooms_are_created_listed_changed_and_deleted(run):
    status, out, err = run("rooms", "create", "chile", "--title", "Chile live",
                           "--country", "Chile", "--country-code", "CL", "--private")
    assert status == 0, err
    assert json.loads(out)["public"] is False
    status, out, _ = run("rooms", "update", "chile", "--title", "Chile, live from Santiago",
                         "--public")
    assert status == 0 and json.loads(out)["title"] == "Chile, live from Santiago"
    status, out, _ = run("rooms", "list")
    header, *rows = out.splitlines()
    assert header.split() == ["id", "title", "country", "public", "viewers", "likes"]
    assert any(row.startswith("chile ") and "Santiago" in row for row in rows)
    status, out, _ = run("rooms", "list", "--json")
    assert "chile" in {room["id"] for room in json.loads(out)}
    assert run("rooms", "show", "chile")[0] == 0
    assert run("rooms", "delete", "chile")[:2] == (0, "deleted room chile\n")
    status, out, err = run("rooms", "show", "chile")
    assert (status, out) == (1, "")
    assert err == "liveroom: room_not_found: no room 'chile' (HTTP 404)\n"


def test_products_are_managed_and_refusals_name_the_field(run):
    assert run("rooms", "create", "italy", "--title", "Italy live", "--country", "Italy",
               "--country-code", "IT")[0] == 0
    status, out, err = run("products", "create", "italy", "olive-oil", "--name", "Olive oil",
                           "--price", "18.50", "--currency", "EUR", "--stock", "40")
    assert status == 0, err
    assert json.loads(out)["price"] == "18.50"
    assert run("products", "update", "italy", "olive-oil", "--stock", "35")[0] == 0
    status, out, _ = run("products", "list", "italy")
    assert out.splitlines()[1].split() == ["olive-oil", "Olive", "oil", "18.50", "EUR", "35"]
    status, _, err = run("products", "create", "italy", "wine", "--name", "Wine",
                         "--price", "free", "--currency", "EUR", "--stock", "1")
    assert status == 1 and err.startswith("liveroom: invalid_field: price")
    assert run("products", "delete", "italy", "olive-oil")[0] == 0
    assert json.loads(run("products", "list", "italy", "--json")[1]) == []


def test_orders_export_as_csv_or_json_to_a_file(run, server, tmp_path):
    assert run("rooms", "create", "vietnam", "--title", "Vietnam live", "--country", "Vietnam",
               "--country-code", "VN")[0] == 0
    assert run("products", "create", "vietnam", "coffee", "--name", "Robusta", "--price",
               "120000", "--currency", "VND", "--stock", "50")[0] == 0
    sale_id = asyncio.run(_sell(server.url, "vietnam", "coffee", buyers=3))

    status, out, _ = run("orders", "export", "--room", "vietnam")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and len(rows) == 3 and {r["sale_id"] for r in rows} == {sale_id}
    target = tmp_path / "orders.json"
    status, _, err = run("orders", "export", "--room", "vietnam", "--sale", sale_id,
                         "--format", "json", "--output", str(target))
    assert status == 0 and err == f"wrote 3 order(s) to {target}\n"
    assert {o["user_id"] for o in json.loads(target.read_text())} == {"b0", "b1", "b2"}
    status, _, err = run("orders", "export", "--room", "vietnam", "--sale", "sale_nope")
    assert status == 1 and "sale_not_found" in err


def test_without_a_token_or_a_server_the_error_says_what_to_do(run, monkeypatch):
    monkeypatch.delenv("LIVEROOM_TOKEN")
    status, _, err = run("rooms", "delete", "thailand")
    assert status == 1 and "unauthorized" in err and "LIVEROOM_TOKEN" in err
    status, _, err = run("rooms", "list", "--url", f"http://127.0.0.1:{free_port()}")
    assert status == 3 and "cannot reach" in err
    with pytest.raises(SystemExit) as usage:
        run("rooms", "create", "x")  # --title and the others are required
    assert usage.value.code == 2


def test_the_log_level_of_an_instance_is_shown_and_changed(run):
    status, out, _ = run("log-level")
    assert status == 0 and out.startswith("INFO (instance ")
    assert run("log-level", "debug")[1].startswith("DEBUG (instance ")
    assert run("log-level", "INFO")[0] == 0


def test_the_installed_command_reads_its_address_and_token_from_the_environment(server):
    env = {**os.environ, "LIVEROOM_URL": server.url, "LIVEROOM_TOKEN": admin_token()}
    installed = Path(sys.executable).parent / "liveroom"  # the console script pip installed
    result = subprocess.run([str(installed), "rooms", "list", "--json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)


async def _sell(base: str, room: str, product: str, buyers: int) -> str:
    async with RoomClient(base, room, token=token(room, "moderator", user="mod")) as mod:
        sale = await mod.create_sale(product, stock=10, duration=60)
    for i in range(buyers):
        async with RoomClient(base, room, token=token(room, user=f"b{i}")) as buyer:
            await buyer.buy(sale["id"], 1)
    return sale["id"]


def test_an_export_follows_every_page_and_a_deleted_rooms_archive_is_exported_then_purged(
        run, server, monkeypatch):
    from liveroom.client import admin

    monkeypatch.setattr(admin, "PAGE", 2)  # five orders: three pages
    assert run("rooms", "create", "russia", "--title", "Russia live", "--country", "Russia",
               "--country-code", "RU")[0] == 0
    assert run("products", "create", "russia", "honey", "--name", "Honey", "--price",
               "1190.00", "--currency", "RUB", "--stock", "50")[0] == 0
    asyncio.run(_sell(server.url, "russia", "honey", buyers=5))
    status, out, _ = run("orders", "export", "--room", "russia")
    assert status == 0 and out.count("idempotency_key") == 1  # one header row
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 5 and len({r["id"] for r in rows}) == 5

    assert run("rooms", "delete", "russia")[0] == 0
    status, out, _ = run("archives", "list")
    assert status == 0 and any(line.split()[:3] == ["russia", "5", "5"]
                               for line in out.splitlines())
    status, _, err = run("archives", "purge", "russia")
    assert status == 1 and "not_purgeable" in err and "5 order(s) still reserved" in err
    for row in rows:
        _post(server.url, f"/api/archives/russia/orders/{row['id']}/pay")
    status, out, _ = run("orders", "export", "--room", "russia", "--archived", "--format",
                         "json")
    assert status == 0 and [o["status"] for o in json.loads(out)] == ["paid"] * 5
    assert json.loads(run("archives", "show", "russia")[1])["purgeable"] is True
    assert run("archives", "purge", "russia")[:2] == (0, "purged the archive of room russia\n")
    assert "russia" not in run("archives", "list")[1]


def _post(base: str, path: str) -> None:
    import urllib.request

    request = urllib.request.Request(base + path, method="POST", headers={
        "Authorization": f"Bearer {admin_token()}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
