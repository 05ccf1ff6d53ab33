"""Logs an operator can feed to a collector: one JSON object per line, with the request id,
connection id and room of the work it was written for; the level changed without a restart."""

from __future__ import annotations

import io
import json
import logging

import aiohttp
import pytest

from liveroom import logs
from liveroom.client import RoomClient

from .helpers import ServerProcess, admin_token, eventually, token

ROOM = "thailand"


def _record(logger: logging.Logger, stream: io.StringIO, fmt: str) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter("i-1") if fmt == "json" else logs.TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def test_a_json_line_carries_the_context_of_its_work_and_any_extra_fields():
    stream = io.StringIO()
    logger = logging.getLogger("test.logs.json")
    _record(logger, stream, "json")
    rid, cid = logs.request_id.set("req-1"), logs.connection_id.set("c0ffee")
    try:
        logger.info("hello %s", "there", extra={"status": 200})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logs.request_id.reset(rid)
        logs.connection_id.reset(cid)
    logger.info("outside")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "hello there" and first["level"] == "INFO"
    assert first["logger"] == "test.logs.json" and first["instance"] == "i-1"
    assert (first["request_id"], first["connection_id"], first["status"]) == ("req-1", "c0ffee",
                                                                              200)
    assert first["time"].endswith("Z")
    assert "ValueError: boom" in second["exception"]
    assert "request_id" not in third


def test_a_text_line_ends_with_its_ids():
    stream = io.StringIO()
    logger = logging.getLogger("test.logs.text")
    _record(logger, stream, "text")
    token_ = logs.room.set("thailand")
    try:
        logger.info("joined")
    finally:
        logs.room.reset(token_)
    assert stream.getvalue().rstrip().endswith("INFO test.logs.text: joined [room=thailand]")


async def test_the_operator_raises_the_level_of_a_running_server_and_sees_ids_in_json(tmp_path):
    server = ServerProcess(None, data_dir=tmp_path, demo=True, extra_env={
        "LIVEROOM_LOG_FORMAT": "json", "LIVEROOM_LOG_LEVEL": "WARNING"}).start()
    admin = {"Authorization": f"Bearer {admin_token()}"}
    try:
        async with aiohttp.ClientSession() as http:
            await http.get(f"{server.url}/api/rooms", headers={"X-Request-Id": "before-1"})
            response = await http.put(f"{server.url}/api/admin/log-level", headers=admin,
                                      json={"level": "debug"})
            assert response.status == 200
            answer = await response.json()
            assert (answer["level"], answer["previous"]) == ("DEBUG", "WARNING")

            response = await http.get(f"{server.url}/api/rooms",
                                      headers={"X-Request-Id": "after-1"})
            assert response.headers["X-Request-Id"] == "after-1"
            async with RoomClient(server.url, ROOM, token=token(ROOM, user="ann")) as client:
                connection = client.welcome["connection_id"]

            viewer = {"Authorization": f"Bearer {token(ROOM, user='ann')}"}
            refused = await http.put(f"{server.url}/api/admin/log-level", headers=viewer,
                                     json={"level": "DEBUG"})
            assert refused.status == 403
            bad = await http.put(f"{server.url}/api/admin/log-level", headers=admin,
                                 json={"level": "LOUD"})
            assert bad.status == 400 and (await bad.json())["error"]["field"] == "level"

        def entries() -> list[dict]:
            return [json.loads(line) for line in server.log.read_text().splitlines()
                    if line.startswith("{")]

        def logged(**fields) -> bool:
            return any(all(e.get(k) == v for k, v in fields.items()) for e in entries())

        await eventually(lambda: logged(request_id="after-1", logger="liveroom.access",
                                        status=200), what="the request's access line")
        await eventually(lambda: logged(connection_id=connection, room=ROOM),
                         what="a line of the room-channel connection")
        assert not logged(request_id="before-1")  # written at WARNING: no access lines yet
        assert logged(level="WARNING", message="log level changed from WARNING to DEBUG by "
                                               "operator")
        other = [line for line in server.log.read_text().splitlines()
                 if line and not line.startswith("{")]
        assert not other, other  # the banner and the demo links are JSON lines too
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _keep_root_level():
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)
