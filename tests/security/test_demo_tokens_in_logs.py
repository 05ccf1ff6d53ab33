"""Staff tokens in the logs: with --demo and JSON logs (what a log collector reads, and keeps)
no access token is written; the staff links go to a file only the server's user reads."""

from __future__ import annotations

import json
import re
import stat

from liveroom.domain import auth

from ..helpers import SECRET, ServerProcess, eventually

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


async def test_demo_staff_tokens_never_reach_a_json_log(tmp_path):
    server = ServerProcess(None, data_dir=tmp_path, demo=True,
                           extra_env={"LIVEROOM_LOG_FORMAT": "json"}).start()
    try:
        await eventually(lambda: "demo staff links" in server.log.read_text(), timeout=30,
                         what="the demo banner in the log")
        output = server.log.read_text()
    finally:
        server.stop()
    assert not JWT.search(output), "a token was written to the log"
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    messages = [line["message"] for line in lines]
    assert any(m.endswith("/rooms/thailand") for m in messages)  # the public links are there
    links = tmp_path / "demo-links.txt"
    assert any(str(links) in m for m in messages)
    assert stat.S_IMODE(links.stat().st_mode) == 0o600
    host_link = next(line.split()[-1] for line in links.read_text().splitlines()
                     if line.strip().startswith("host") and "/studio/thailand" in line)
    assert auth.verify(SECRET, host_link.split("token=")[1]).role == "host"
