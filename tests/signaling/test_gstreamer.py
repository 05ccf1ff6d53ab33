"""GStreamer's webrtcbin publishes over WHIP and plays over WHEP (gst_client.py): libnice ICE,
an RSA DTLS certificate on both ends, H.264 constrained baseline and High, VP8, Opus; the
player decodes and reads the publisher's pattern off every picture.

libnice never uses loopback, so the server and the clients run in a network namespace of
their own holding a veth pair (two addresses besides loopback); the server listens on
127.0.0.1 as in the quickstart and must offer those addresses by itself. Needs root (CI runs
as root) and Debian's GStreamer packages; without them these tests fail, they never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from ..helpers import SECRET, free_port, token, wait_until

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"
PACKAGES = ("gstreamer1.0-plugins-bad gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly "
            "gstreamer1.0-nice gstreamer1.0-tools gstreamer1.0-libav python3-gi python3-gst-1.0 "
            "gir1.2-gstreamer-1.0 gir1.2-gst-plugins-bad-1.0 iproute2")
ELEMENTS = ("webrtcbin", "nicesrc", "x264enc", "vp8enc", "opusenc", "rtph264pay", "rtpvp8pay",
            "rtpopuspay", "avdec_h264", "vp8dec", "opusdec", "appsrc", "appsink")
CHECK = f"""
import gi
gi.require_version("Gst", "1.0"); gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import Gst, GstWebRTC, GstSdp
Gst.init(None)
missing = [e for e in {ELEMENTS!r} if Gst.ElementFactory.find(e) is None]
print(" ".join(missing))
"""


@pytest.fixture(scope="session")
def gstreamer() -> None:
    """Everything these tests need is here, or they fail saying what to install."""
    problems = []
    if os.geteuid() != 0:
        problems.append("root (to make a network namespace)")
    if shutil.which("ip") is None:
        problems.append("the ip command")
    if not Path(SYSTEM_PYTHON).exists():
        problems.append(SYSTEM_PYTHON)
    else:
        result = subprocess.run([SYSTEM_PYTHON, "-c", CHECK], capture_output=True, text=True,
                                timeout=60)
        if result.returncode != 0:
            problems.append("PyGObject with GStreamer's typelibs: "
                            + result.stderr.strip().splitlines()[-1])
        elif result.stdout.strip():
            problems.append("GStreamer elements " + result.stdout.strip())
    if problems:
        pytest.fail(f"the GStreamer interop tests need {', '.join(problems)}: "
                    f"apt-get install -y {PACKAGES}", pytrace=False)


@pytest.fixture
def netns(gstreamer):
    """A network namespace with a veth pair (10.99.0.1, 10.99.0.2: names libnice does not
    ignore) and loopback; whatever still runs in it is stopped, and it is deleted, at the end."""
    tag = f"{os.getpid() % 100000}{free_port() % 1000}"
    name, a, b = f"lrtest{tag}", f"lra{tag}", f"lrb{tag}"
    steps = [["ip", "netns", "add", name],
             ["ip", "-n", name, "link", "add", a, "type", "veth", "peer", "name", b],
             ["ip", "-n", name, "addr", "add", "10.99.0.1/24", "dev", a],
             ["ip", "-n", name, "addr", "add", "10.99.0.2/24", "dev", b],
             ["ip", "-n", name, "link", "set", "lo", "up"],
             ["ip", "-n", name, "link", "set", a, "up"],
             ["ip", "-n", name, "link", "set", b, "up"]]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, timeout=30)
        yield name
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        for pid in pids.stdout.split():
            subprocess.run(["kill", "-9", pid], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Process:
    """A process in the namespace whose stdout lines are kept (JSON ones parsed)."""

    def __init__(self, netns: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.events: list[dict] = []
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns, *args], env=env, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def event(self, kind: str) -> dict | None:
        return next((e for e in self.events if e.get("event") == kind), None)

    def failed(self) -> dict | None:
        error = self.event("error")
        if error is None and self.proc.poll() is not None and self.proc.returncode != 0:
            error = {"exit": self.proc.returncode}
        return error

    def output(self) -> str:
        return "\n".join(self.lines[-40:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def netns_server(netns):
    """`liveroom serve --demo` in the namespace, on 127.0.0.1 like the quickstart, its demo
    rooms without the demo host."""
    data = Path(tempfile.mkdtemp(prefix="liveroom-gst-"))
    port = free_port()
    env = {**os.environ, "LIVEROOM_SECRET": SECRET, "LIVEROOM_PORT": str(port),
           "LIVEROOM_DATA_DIR": str(data), "LIVEROOM_DEMO_VIDEO": "false"}
    for var in ("LIVEROOM_REDIS_URL", "LIVEROOM_ICE_ADDRESSES", "LIVEROOM_HOST"):
        env.pop(var, None)
    server = Process(netns, [sys.executable, "-m", "liveroom.server", "serve", "--demo"], env)
    server.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    server.netns = netns  # type: ignore[attr-defined]
    try:
        wait_until(lambda: any("Live video (ICE) on" in line for line in server.lines)
                   or server.proc.poll() is not None, timeout=30, what="the server")
        assert server.proc.poll() is None, server.output()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def gst(server, *args: str) -> Process:
    return Process(server.netns, [SYSTEM_PYTHON, str(HERE / "gst_client.py"), *args])


def counts_up(numbers: list[int], last: int = 30) -> bool:
    tail = numbers[-last:]
    return len(tail) == last and all(0 < (b - a) % 256 <= 8 for a, b in zip(tail, tail[1:]))


@pytest.mark.parametrize("codec, profile", [
    ("vp8", None), ("h264-cb", "42"), ("h264-high", "64")])
def test_gstreamer_publishes_and_plays_through_the_server(netns_server, codec, profile):
    server = netns_server
    room = "thailand"
    publisher = gst(server, "publish", f"{server.url}/whip/rooms/{room}",
                    token(room, "host", user="siam"), codec)
    player = None
    try:
        def why() -> str:
            return (f"publisher:\n{publisher.output()}\nplayer:\n"
                    f"{player.output() if player else ''}\nserver:\n{server.output()}")

        wait_until(lambda: publisher.event("connected") or publisher.failed(), timeout=30,
                   what="the publisher to connect")
        assert publisher.event("connected"), why()
        answered = publisher.event("answered")
        assert answered["setup"] == ["passive"], why()  # webrtcbin's certificate is RSA
        if profile:  # the publisher's own profile-level-id, answered as it was offered
            fmtp = next(f for f in answered["formats"] if "profile-level-id=" in f)
            assert fmtp.split("profile-level-id=")[1].startswith(profile), why()

        player = gst(server, "play", f"{server.url}/whep/rooms/{room}")

        def pictures() -> list[int]:
            return [e["n"] for e in player.events if e.get("event") == "frame"
                    and e["n"] is not None]

        wait_until(lambda: counts_up(pictures()) or player.failed(), timeout=45,
                   what="the player to decode the publisher's pattern")
        assert counts_up(pictures()), why()
        played = player.event("answered")
        assert played["setup"] == ["passive"], why()
        wanted = "VP8" if codec == "vp8" else "H264"
        assert any(f.startswith("a=rtpmap:") and wanted in f for f in played["formats"]), why()
    finally:
        if player is not None:
            player.stop()
        publisher.stop()
