"""Media relay benchmark: one publisher (640x480, 30 fps, about 1 Mbps VP8, plus Opus) and N
viewers through a real `liveroom serve`, forwarding (the default) or transcoding (aiortc's
decode and re-encode per viewer, LIVEROOM_MEDIA_TRANSCODE=1) for comparison.

    python bench/media.py                       # N = 1, 10, 50, forwarding
    python bench/media.py --viewers 1 10 --transcode
    python bench/media.py --viewers 50 --seconds 20
    python bench/media.py --demo                # the demo hosts' cost, idle and watched

Three kinds of processes, so that only the server's own work is measured: the server; a
publisher that sends a pre-encoded loop in real time (no encoding while measuring); and viewer
processes whose viewers count the frames they receive without decoding them, except one
sample viewer that decodes every picture and checks its pattern (the frame number written in
blocks, as in tests/signaling/clients.py). All traffic stays on 127.0.0.1.

Printed per N: server CPU per viewer (the server's CPU with N viewers minus with none, over
N, in % of one core), frames delivered per viewer per second (mean and the slowest viewer),
time to first frame (p50, p95: from sending the WHEP offer to the first whole frame), the
server's resident memory, and the sample viewer's pattern check.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-0123456789abcdef-0123456789"
ROOM = "bench"
W, H, FPS, BITRATE = 640, 480, 30, 1_000_000
LOOP = 256  # frames in the publisher's loop (the pattern counts mod 256)
BLOCK = 80
NOISE_ROWS = 64  # a moving band of noise: enough work for VP8 to spend about 1 Mbps
VIEWERS_PER_PROCESS = 25
TICKS = os.sysconf("SC_CLK_TCK")


# --- measuring processes ---------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[max(0, min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1))]


# --- the picture -----------------------------------------------------------------------------
def pattern_frame(n: int, noise: bytes):
    """Frame n: its number in eight blocks across the top, a bright left and dark right half
    below, and a moving band of noise in between so VP8 has about 1 Mbps of work."""
    import av

    frame = av.VideoFrame(W, H, "yuv420p")
    line = frame.planes[0].line_size
    luma = bytearray([128]) * frame.planes[0].buffer_size
    shift = (n * 4099) % (len(noise) - W * NOISE_ROWS)
    for row in range(H):
        base = row * line
        if row < BLOCK:
            for bit in range(8):
                value = 235 if (n >> bit) & 1 else 16
                luma[base + bit * BLOCK:base + (bit + 1) * BLOCK] = bytes([value]) * BLOCK
        elif row < BLOCK + NOISE_ROWS:
            start = shift + (row - BLOCK) * W
            luma[base:base + W] = noise[start:start + W]
        else:
            luma[base:base + W // 2] = bytes([235]) * (W // 2)
            luma[base + W // 2:base + W] = bytes([16]) * (W // 2)
    frame.planes[0].update(bytes(luma))
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)
    return frame


def read_pattern(frame) -> int | None:
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    luma, line = bytes(frame.planes[0]), frame.planes[0].line_size
    lower = (H - 60) * line
    if luma[lower + W // 4] < 180 or luma[lower + W * 3 // 4] > 70:
        return None
    return sum(1 << bit for bit in range(8)
               if luma[(BLOCK // 2) * line + bit * BLOCK + BLOCK // 2] > 128)


def encoded_loop() -> list[bytes]:
    """LOOP frames of VP8 at BITRATE, a keyframe every two seconds; cached on disk."""
    import av

    cache = Path(tempfile.gettempdir()) / f"liveroom-bench-vp8-{W}x{H}-{LOOP}.bin"
    if cache.exists():
        data = cache.read_bytes()
        out, pos = [], 0
        while pos < len(data):
            size = int.from_bytes(data[pos:pos + 4], "big")
            out.append(data[pos + 4:pos + 4 + size])
            pos += 4 + size
        return out
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = W, H, "yuv420p"
    codec.bit_rate = BITRATE
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.gop_size = 2 * FPS
    codec.options = {"deadline": "realtime", "cpu-used": "4", "lag-in-frames": "0",
                     "minrate": str(BITRATE), "maxrate": str(BITRATE), "bufsize": str(BITRATE)}
    noise = bytes(96 + (b & 0x3F) for b in os.urandom(W * 400))
    packets: list[bytes] = []
    for n in range(LOOP):
        frame = pattern_frame(n, noise)
        frame.pts = n
        if n % (2 * FPS) == 0:
            frame.pict_type = av.video.frame.PictureType.I
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    cache.write_bytes(b"".join(len(p).to_bytes(4, "big") + p for p in packets))
    return packets


# --- the publisher process -------------------------------------------------------------------
async def publisher_main(url: str, token: str) -> None:
    import aiohttp
    import av
    from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamTrack

    from signaling.aiortc_forwarding import restrict_host_addresses
    from signaling.demo_host import beep_packets

    restrict_host_addresses(["127.0.0.1"])

    class Loop(MediaStreamTrack):
        def __init__(self, kind, packets, clock, interval):
            super().__init__()
            self.kind, self.packets, self.clock, self.interval = kind, packets, clock, interval
            self.i, self.start = 0, None

        async def recv(self):
            if self.start is None:
                self.start = time.monotonic()
            delay = self.start + self.i * self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            packet = av.Packet(self.packets[self.i % len(self.packets)])
            packet.pts = round(self.i * self.interval * self.clock)
            packet.time_base = fractions.Fraction(1, self.clock)
            self.i += 1
            return packet

    video = encoded_loop()
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(Loop("video", video, 90000, 1 / FPS), direction="sendonly")
    transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                     if c.mimeType == "video/VP8"])
    pc.addTransceiver(Loop("audio", list(beep_packets()), 48000, 0.02), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=pc.localDescription.sdp, headers={
                "Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}) as r:
            assert r.status == 201, await r.text()
            answer = await r.text()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    bytes_per_second = sum(map(len, video)) * 8 / (len(video) / FPS)
    print(json.dumps({"publisher": "live", "kbps": round(bytes_per_second / 1000)}), flush=True)
    await asyncio.Event().wait()


# --- the viewer processes --------------------------------------------------------------------
async def viewers_main(url: str, count: int, sample: bool) -> None:
    """`count` viewers; on "report" (a line on stdin) print their counters as JSON."""
    import aiohttp
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from signaling.aiortc_forwarding import restrict_host_addresses, tap_receiver

    restrict_host_addresses(["127.0.0.1"])
    viewers = []

    class Counter:
        def __init__(self):
            self.frames, self.first, self.start = 0, None, None

        def on_frame(self, mime, data, ts):
            self.frames += 1
            if self.first is None:
                self.first = time.monotonic() - self.start

    checked = {"frames": 0, "valid": 0, "ordered": 0, "last": None}

    async def decode(track, counter):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            counter.on_frame("video", b"", 0)
            checked["frames"] += 1
            n = read_pattern(frame)
            if n is not None:
                checked["valid"] += 1
                if checked["last"] is not None and 0 < (n - checked["last"]) % 256 <= 4:
                    checked["ordered"] += 1
                checked["last"] = n

    async with aiohttp.ClientSession() as http:
        for i in range(count):
            pc = RTCPeerConnection()
            video = pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("audio", direction="recvonly")
            counter = Counter()
            decoding = sample and i == 0
            if not decoding:
                tap_receiver(video.receiver, counter.on_frame)
            await pc.setLocalDescription(await pc.createOffer())
            counter.start = time.monotonic()
            async with http.post(url, data=pc.localDescription.sdp,
                                 headers={"Content-Type": "application/sdp"}) as r:
                assert r.status == 201, await r.text()
                answer = await r.text()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            task = asyncio.ensure_future(decode(video.receiver.track, counter)) if decoding \
                else None
            viewers.append((pc, counter, task))
        print(json.dumps({"viewers": "connected"}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            print(json.dumps({
                "frames": [c.frames for _pc, c, _t in viewers],
                "first": [c.first for _pc, c, _t in viewers],
                "sample": checked if sample else None,
            }), flush=True)


# --- the orchestration -----------------------------------------------------------------------
class Proc:
    def __init__(self, args: list[str], env: dict | None = None) -> None:
        self.proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)

    def read(self, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.proc.args[:4]} exited with {self.proc.poll()}")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
        raise TimeoutError("no answer")

    def ask(self) -> dict:
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(port: int, data_dir: str, transcode: bool, demo: bool = False
                 ) -> subprocess.Popen:
    env = {**os.environ, "LIVEROOM_SECRET": SECRET,
           "LIVEROOM_CONNECTIONS_PER_ADDRESS": "0",  # every viewer is 127.0.0.1
           "LIVEROOM_PORT": str(port),
           "LIVEROOM_DEMO": "1" if demo else "0",
           "LIVEROOM_DATA_DIR": data_dir, "LIVEROOM_ICE_ADDRESSES": "127.0.0.1",
           "LIVEROOM_LOG_LEVEL": "WARNING", "LIVEROOM_MAX_PEERS": "1000",
           # Every bench viewer is a guest from 127.0.0.1.
           "LIVEROOM_GUEST_PEERS_PER_ADDRESS": "0", "LIVEROOM_GUEST_PEERS_PER_ROOM": "0",
           "LIVEROOM_MEDIA_TRANSCODE": "1" if transcode else "0"}
    env.pop("LIVEROOM_REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "liveroom.server", "serve"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def stop_server(server: subprocess.Popen, data_dir: str) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
    shutil.rmtree(data_dir, ignore_errors=True)


def create_room(base: str) -> None:
    import urllib.request

    from liveroom.domain import auth

    admin = auth.mint(SECRET, room="*", role="admin", user_id="bench")
    request = urllib.request.Request(
        f"{base}/api/rooms", method="POST", headers={
            "Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        data=json.dumps({"id": ROOM, "title": "Bench", "country": "Thailand",
                         "country_code": "TH"}).encode())
    urllib.request.urlopen(request).read()


def measure_cpu(pid: int, seconds: float) -> float:
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - start) * 100


def run(n: int, seconds: float, transcode: bool) -> dict:
    from liveroom.domain import auth

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="liveroom-bench-")
    server = start_server(port, data_dir, transcode)
    procs: list[Proc] = []
    try:
        create_room(base)
        host = auth.mint(SECRET, room=ROOM, role="host", user_id="bench-host")
        publisher = Proc([sys.executable, __file__, "--role", "publisher", base, host])
        procs.append(publisher)
        kbps = publisher.read()["kbps"]
        time.sleep(2)
        idle = measure_cpu(server.pid, min(seconds, 5))
        groups = []
        left = n
        while left > 0:
            size = min(left, VIEWERS_PER_PROCESS)
            groups.append(Proc([sys.executable, __file__, "--role", "viewers", base, str(size),
                                "sample" if not groups else "-"]))
            left -= size
        procs += groups
        for group in groups:
            group.read(timeout=300)
        time.sleep(3)  # every viewer connected and past its first frames
        first = [g.ask() for g in groups]
        load = [g.proc.pid for g in groups]
        cpu_before, start = cpu_seconds(server.pid), time.monotonic()
        load_before = sum(cpu_seconds(pid) for pid in load)
        time.sleep(seconds)
        last = [g.ask() for g in groups]
        elapsed = time.monotonic() - start
        busy = (cpu_seconds(server.pid) - cpu_before) / elapsed * 100
        load_busy = (sum(cpu_seconds(pid) for pid in load) - load_before) / elapsed * 100
        rates = [(b - a) / elapsed for f, l in zip(first, last)
                 for a, b in zip(f["frames"], l["frames"])]
        firsts = [t for l in last for t in l["first"] if t is not None]
        sample = last[0]["sample"]
        return {
            "n": n, "mode": "transcode" if transcode else "forward", "kbps": kbps,
            "idle_cpu": idle, "cpu": busy, "per_viewer": (busy - idle) / n,
            "fps_mean": sum(rates) / len(rates), "fps_min": min(rates),
            "ttff_p50": percentile(firsts, 50), "ttff_p95": percentile(firsts, 95),
            "never": n - len(firsts), "rss": rss_mib(server.pid), "load": load_busy,
            "sample": f"{sample['valid']}/{sample['frames']} pattern, "
                      f"{sample['ordered']} in order",
        }
    finally:
        for proc in procs:
            proc.stop()
        stop_server(server, data_dir)


def run_demo(seconds: float) -> None:
    """The demo hosts' cost: a --demo server idle, then with one viewer in every demo room."""
    from liveroom.server.demo import DEMO_ROOMS

    rooms = [room["id"] for room, _products in DEMO_ROOMS]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="liveroom-bench-")
    server = start_server(port, data_dir, False, demo=True)
    groups: list[Proc] = []
    try:
        time.sleep(5)  # the demo hosts claim their rooms
        idle = measure_cpu(server.pid, seconds)
        for room in rooms:
            group = Proc([sys.executable, __file__, "--role", "viewers",
                          base, "1", "-", room])
            groups.append(group)
            group.read(timeout=120)
        time.sleep(3)
        first = [g.ask() for g in groups]
        watched = measure_cpu(server.pid, seconds)
        last = [g.ask() for g in groups]
        fps = [(l["frames"][0] - f["frames"][0]) / seconds for f, l in zip(first, last)]
        print(f"Demo hosts ({len(rooms)} rooms, 640x360, 15 fps VP8 + Opus), {seconds:.0f} s "
              "windows")
        print(f"  nobody watching:              server CPU {idle:5.1f}%")
        print(f"  one viewer in every room:     server CPU {watched:5.1f}%  "
              f"({(watched - idle) / len(rooms):.2f}% per watched room, encoding and "
              f"forwarding; {min(fps):.1f}-{max(fps):.1f} fps per viewer)")
    finally:
        for group in groups:
            group.stop()
        stop_server(server, data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=15.0, help="measuring window per N")
    parser.add_argument("--transcode", action="store_true",
                        help="the server decodes and re-encodes for every viewer")
    parser.add_argument("--demo", action="store_true",
                        help="measure the demo hosts of a --demo server instead")
    parser.add_argument("--role", choices=["publisher", "viewers"], help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(publisher_main(f"{args.rest[0]}/whip/rooms/{ROOM}", args.rest[1]))
        return
    if args.role == "viewers":
        room = args.rest[3] if len(args.rest) > 3 else ROOM
        asyncio.run(viewers_main(f"{args.rest[0]}/whep/rooms/{room}", int(args.rest[1]),
                                 args.rest[2] == "sample"))
        return
    if args.demo:
        run_demo(args.seconds)
        return
    encoded_loop()  # encode (or load) the publisher's loop before anything is measured
    mode = "transcoding" if args.transcode else "forwarding"
    print(f"Media relay, {mode}: 1 publisher {W}x{H} {FPS} fps VP8 + Opus; "
          f"{args.seconds:.0f} s windows; {os.cpu_count()} cores")
    header = (f"{'viewers':>7} {'video kbps':>10} {'server CPU':>10} {'CPU/viewer':>10} "
              f"{'fps/viewer':>10} {'slowest':>8} {'TTFF p50':>9} {'TTFF p95':>9} "
              f"{'RSS MiB':>8} {'viewers CPU':>11}  sample viewer")
    print(header)
    for n in args.viewers:
        r = run(n, args.seconds, args.transcode)
        never = f" ({r['never']} never got a frame)" if r["never"] else ""
        print(f"{n:>7} {r['kbps']:>10} {r['cpu']:>9.1f}% {r['per_viewer']:>9.2f}% "
              f"{r['fps_mean']:>10.1f} {r['fps_min']:>8.1f} {r['ttff_p50'] * 1000:>7.0f}ms "
              f"{r['ttff_p95'] * 1000:>7.0f}ms {r['rss']:>8.0f} {r['load']:>10.0f}%  "
              f"{r['sample']}{never}",
              flush=True)


if __name__ == "__main__":
    main()
