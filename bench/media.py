"""Media relay benchmark: one publisher (640x480, 30 fps, about 1 Mbps VP8 or H.264, plus Opus)
and N viewers through real `liveroom serve` processes.

    python bench/media.py                           # N = 10, 50: lean and aiortc's sender
    python bench/media.py --viewers 50 --forward lean --seconds 20
    python bench/media.py --viewers 1 10 --transcode
    python bench/media.py --instances 3 --viewers 60  # A, B, C on one Redis, + capacity
    python bench/media.py --capacity 50 100 150 200   # the largest N at >= 29 fps
    python bench/media.py --demo                    # the demo hosts' cost, idle and watched

Three kinds of processes, so that only the server's own work is measured: the server(s); a
publisher that sends a pre-encoded loop in real time (no encoding while measuring); and viewer
processes. Viewers are cheap: each takes its SRTP packets straight off its ICE socket, decrypts
them and counts whole frames (marker bits) and gaps in the sequence numbers, without aiortc's
jitter buffer, depacketizer or decoder; one sample viewer decodes every picture and checks its
pattern (the frame number written in blocks, as in tests/signaling/clients.py). All traffic
stays on 127.0.0.1.

Printed per N: server CPU per viewer (the server's CPU with N viewers minus with none, over
N, in % of one core), frames per viewer per second (mean, median and the slowest viewer),
frames lost (frames with a packet missing), time to first frame (p50, p95: from sending the
WHEP offer to the first whole frame), the server's resident memory, the load generator's CPU
(all viewer processes, % of one core), how busy the whole machine was (all cores, whatever
ran: on a shared machine other work shows here) and the sample viewer's pattern check; then
the floor: SRTP-protect and sendto of the same packet sequence in a tight loop on one socket,
per viewer (the median of five one-second runs, with their range); and the paced floor: the
same work as a server must do it, each viewer with its own SRTP session and socket, at the
stream's pace (sleeping between frames), to sockets held as the viewers hold theirs: the cost
of the pace itself, with none of the server's Python.

With --instances 3, per instance (A holds the publisher): its viewers, the sessions it serves,
its CPU and CPU per served viewer, fps (slowest, median), frames lost, first frame p50/p95 and
how much later the same frames reach its viewers than A's (a relay leg's latency, once legs
exist); what a leg costs A against a viewer, two ways: A with its viewers and legs against A
alone with as many viewers as both (a run of its own, on a quieter machine), and at the same
moment of the same run (EXTRA legs more, then EXTRA viewers more, see price_a_leg); then the
floor, and the capacity search of one instance.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


def machine_times() -> tuple[float, float]:
    """(busy, all) jiffies of every core since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


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


def encoded_loop(codec: str = "vp8") -> list[bytes]:
    """LOOP frames at BITRATE, a keyframe every two seconds; cached on disk. H.264 as OBS sends
    it: no B-frames, Annex B, SPS/PPS with every keyframe."""
    import av

    cache = Path(tempfile.gettempdir()) / f"liveroom-bench-{codec}-{W}x{H}-{LOOP}.bin"
    if cache.exists():
        data = cache.read_bytes()
        out, pos = [], 0
        while pos < len(data):
            size = int.from_bytes(data[pos:pos + 4], "big")
            out.append(data[pos + 4:pos + 4 + size])
            pos += 4 + size
        return out
    if codec == "h264":
        encoder = av.CodecContext.create("libx264", "w")
        encoder.options = {"preset": "veryfast", "tune": "zerolatency", "g": str(2 * FPS),
                           "keyint_min": str(2 * FPS), "sc_threshold": "0", "bf": "0",
                           "profile": "baseline", "nal-hrd": "cbr",
                           "x264-params": f"vbv-maxrate={BITRATE // 1000}:"
                                          f"vbv-bufsize={BITRATE // 1000}:repeat-headers=1"}
    else:
        encoder = av.CodecContext.create("libvpx", "w")
        encoder.options = {"deadline": "realtime", "cpu-used": "4", "lag-in-frames": "0",
                           "minrate": str(BITRATE), "maxrate": str(BITRATE),
                           "bufsize": str(BITRATE)}
        encoder.gop_size = 2 * FPS
    encoder.width, encoder.height, encoder.pix_fmt = W, H, "yuv420p"
    encoder.bit_rate = BITRATE
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.framerate = fractions.Fraction(FPS, 1)
    noise = bytes(96 + (b & 0x3F) for b in os.urandom(W * 400))
    packets: list[bytes] = []
    for n in range(LOOP):
        frame = pattern_frame(n, noise)
        frame.pts = n
        if n % (2 * FPS) == 0:
            frame.pict_type = av.video.frame.PictureType.I
        packets += [bytes(p) for p in encoder.encode(frame)]
    packets += [bytes(p) for p in encoder.encode(None)]
    cache.write_bytes(b"".join(len(p).to_bytes(4, "big") + p for p in packets))
    return packets


def kbps(packets: list[bytes]) -> int:
    return round(sum(map(len, packets)) * 8 / (len(packets) / FPS) / 1000)


# --- the publisher process -------------------------------------------------------------------
async def publisher_main(url: str, token: str, codec: str) -> None:
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

    video = encoded_loop(codec)
    mime = {"vp8": "video/VP8", "h264": "video/H264"}[codec]
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(Loop("video", video, 90000, 1 / FPS), direction="sendonly")
    transceiver.setCodecPreferences([
        c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == mime
        and c.parameters.get("profile-level-id", "42e01f") == "42e01f"])
    pc.addTransceiver(Loop("audio", list(beep_packets()), 48000, 0.02), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=pc.localDescription.sdp, headers={
                "Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}) as r:
            assert r.status == 201, await r.text()
            answer = await r.text()
            location = r.headers["Location"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    print(json.dumps({"publisher": "live", "kbps": kbps(video),
                      "instance": location.rsplit("/", 1)[1].rsplit("-", 1)[0]}), flush=True)
    await stdin_closed()
    await pc.close()


async def stdin_closed() -> None:
    """Until the orchestrator closes this process's stdin (Proc.stop): then it hangs up."""
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        pass


# --- the viewer processes --------------------------------------------------------------------
class Counter:
    """One cheap viewer: whole video frames (marker bits on the video payload type) and the
    frames that had a packet missing, from its decrypted RTP."""

    def __init__(self) -> None:
        self.frames = self.lost = 0
        self.first: float | None = None
        self.start = 0.0
        self.video_pt: int | None = None
        self.instance = ""  # the instance that holds the session (serves its media)
        self.arrivals: dict[str, float] | None = None  # frame's last bytes -> when (sampled)
        self._next: int | None = None
        self._gap = False

    def on_rtp(self, data: bytes) -> None:
        if data[1] & 0x7F != self.video_pt:
            return
        seq = int.from_bytes(data[2:4], "big")
        if self._next is not None and seq != self._next:
            if (seq - self._next) & 0xFFFF >= 0x8000:
                return  # late or repeated
            self._gap = True
        self._next = (seq + 1) & 0xFFFF
        if data[1] & 0x80:
            if self._gap:
                self.lost += 1
                self._gap = False
                return
            self.frames += 1
            if self.first is None:
                self.first = time.monotonic() - self.start
            if self.arrivals is not None:
                # The end of a frame is the same bytes for every viewer on every instance: a
                # stamp to compare one frame's arrival through different instances.
                self.arrivals[data[-24:].hex()] = time.monotonic()

    def on_frame(self) -> None:  # the decoding sample viewer
        self.frames += 1
        if self.first is None:
            self.first = time.monotonic() - self.start


def count_after_srtp(pc, counter: Counter) -> None:
    """Take the viewer's RTP off its ICE connection, decrypt it and count it, before aiortc's
    receiver sees it (the bench's own shortcut: RTCP and DTLS still go to aiortc)."""
    transceiver = pc.getTransceivers()[0]
    dtls = transceiver.receiver.transport
    connection = dtls.transport.iceGatherer._connection
    original = connection.data_received

    def data_received(data: bytes, component: int) -> None:
        srtp = dtls._rx_srtp
        if srtp is not None and len(data) > 12 and 127 < data[0] < 192 and not (
                192 <= data[1] <= 223):
            try:
                counter.on_rtp(srtp.unprotect(data))
            except Exception:
                counter._gap = True
            return
        original(data, component)

    connection.data_received = data_received


async def viewers_main(url: str, count: int, sample: bool) -> None:
    """`count` viewers; on "report" (a line on stdin) print their counters as JSON."""
    import aiohttp
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from signaling.aiortc_forwarding import restrict_host_addresses

    restrict_host_addresses(["127.0.0.1"])
    viewers = []
    checked = {"frames": 0, "valid": 0, "ordered": 0, "last": None}

    async def decode(track, counter):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            counter.on_frame()
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
            if i == 1:
                counter.arrivals = {}
            await pc.setLocalDescription(await pc.createOffer())
            if not decoding:
                count_after_srtp(pc, counter)
            counter.start = time.monotonic()
            async with http.post(url, data=pc.localDescription.sdp,
                                 headers={"Content-Type": "application/sdp"}) as r:
                assert r.status == 201, await r.text()
                answer = await r.text()
                counter.instance = r.headers["Location"].rsplit("/", 1)[1].rsplit("-", 1)[0]
            m_video = next(line for line in answer.splitlines() if line.startswith("m=video"))
            counter.video_pt = int(m_video.split()[3])
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            task = asyncio.ensure_future(decode(video.receiver.track, counter)) if decoding \
                else None
            viewers.append((pc, counter, task))
        print(json.dumps({"viewers": "connected"}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:  # told to go: hang up, so the server stops sending at once
                await asyncio.gather(*(pc.close() for pc, _c, _t in viewers))
                return
            print(json.dumps({
                "frames": [c.frames for _pc, c, _t in viewers],
                "lost": [c.lost for _pc, c, _t in viewers],
                "first": [c.first for _pc, c, _t in viewers],
                "instance": [c.instance for _pc, c, _t in viewers],
                "arrivals": next((c.arrivals for _pc, c, _t in viewers
                                  if c.arrivals is not None), {}),
                "sample": checked if sample else None,
            }), flush=True)
            for _pc, c, _t in viewers:
                if c.arrivals is not None:
                    c.arrivals = {}


async def legs_main(base: str, count: int) -> None:
    """`count` relay legs from A, each read and acknowledged as an instance reads one (the
    frames only counted); prints once every leg has frames, then holds them until stopped."""
    import aiohttp

    from signaling import leg_auth, leg_wire

    received = [0] * count
    opened = asyncio.Event()

    async def leg(http: aiohttp.ClientSession, i: int) -> None:
        headers = {"Authorization": leg_auth.header(SECRET, ROOM, f"be{i:04x}")}
        async with http.ws_connect(f"{base}/internal/media/legs/{ROOM}", headers=headers,
                                   protocols=(leg_wire.BATCHED,),
                                   max_msg_size=leg_wire.MAX_FRAME_BYTES) as ws:
            read, acked_at = leg_wire.reader(ws.protocol), time.monotonic()
            async for message in ws:
                if message.type != aiohttp.WSMsgType.BINARY:
                    continue
                received[i] += len(read(message.data))
                if all(received):
                    opened.set()
                if time.monotonic() - acked_at > 0.5:
                    acked_at = time.monotonic()
                    await ws.send_json({"type": "ack", "frames": received[i]})

    async with aiohttp.ClientSession() as http:
        tasks = [asyncio.create_task(leg(http, i)) for i in range(count)]
        await opened.wait()
        print(json.dumps({"legs": count}), flush=True)
        await stdin_closed()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
        self.proc.stdin.close()  # every role hangs up when its stdin ends
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(port: int, data_dir: str, *, transcode: bool = False, demo: bool = False,
                 forward: str = "lean", redis: tuple[str, str] | None = None
                 ) -> subprocess.Popen:
    env = {**os.environ, "LIVEROOM_SECRET": SECRET,
           "LIVEROOM_CONNECTIONS_PER_ADDRESS": "0",  # every viewer is 127.0.0.1
           "LIVEROOM_PORT": str(port),
           "LIVEROOM_DEMO": "1" if demo else "0",
           "LIVEROOM_DATA_DIR": data_dir, "LIVEROOM_ICE_ADDRESSES": "127.0.0.1",
           "LIVEROOM_LOG_LEVEL": "WARNING", "LIVEROOM_MAX_PEERS": "1000",
           # Every bench viewer is a guest from 127.0.0.1.
           "LIVEROOM_GUEST_PEERS_PER_ADDRESS": "0", "LIVEROOM_GUEST_PEERS_PER_ROOM": "0",
           "LIVEROOM_MEDIA_TRANSCODE": "1" if transcode else "0",
           "LIVEROOM_MEDIA_FORWARD": forward}
    env.pop("LIVEROOM_REDIS_URL", None)
    if redis is not None:
        env["LIVEROOM_REDIS_URL"], env["LIVEROOM_REDIS_NAMESPACE"] = redis
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


def median(values: list[float]) -> float:
    return percentile(values, 50)


def start_viewers(bases: list[str], n: int) -> list[tuple[str, Proc]]:
    """n viewers spread evenly over `bases`, VIEWERS_PER_PROCESS a process; the first
    process's first viewer decodes (the sample)."""
    groups: list[tuple[str, Proc]] = []
    shares = [n // len(bases) + (1 if i < n % len(bases) else 0) for i in range(len(bases))]
    for base, share in zip(bases, shares):
        while share > 0:
            size = min(share, VIEWERS_PER_PROCESS)
            groups.append((base, Proc([sys.executable, __file__, "--role", "viewers", base,
                                       str(size), "sample" if not groups else "-"])))
            share -= size
    for _base, group in groups:
        group.read(timeout=300)
    return groups


def watch(servers: dict[str, int], groups: list[tuple[str, Proc]], seconds: float) -> dict:
    """Every server's CPU and every viewer's counters over one window."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # every viewer connected and past its first frames
        time.sleep(2)
        if all(t is not None for _b, g in groups for t in g.ask()["first"]):
            break
    first = [g.ask() for _b, g in groups]
    load = [g.proc.pid for _b, g in groups]
    before = {name: cpu_seconds(pid) for name, pid in servers.items()}
    load_before, start = sum(cpu_seconds(pid) for pid in load), time.monotonic()
    busy_before, all_before = machine_times()
    time.sleep(seconds)
    busy_after, all_after = machine_times()
    last = [g.ask() for _b, g in groups]
    elapsed = time.monotonic() - start
    cpu = {name: (cpu_seconds(pid) - before[name]) / elapsed * 100
           for name, pid in servers.items()}
    load_busy = (sum(cpu_seconds(pid) for pid in load) - load_before) / elapsed * 100
    viewers = []  # (base posted to, instance holding it, fps, lost, first frame)
    for (base, _g), f, lst in zip(groups, first, last):
        for i in range(len(lst["frames"])):
            viewers.append((base, lst["instance"][i],
                            (lst["frames"][i] - f["frames"][i]) / elapsed,
                            lst["lost"][i] - f["lost"][i], lst["first"][i]))
    sample = last[0]["sample"]
    arrivals = [(base, lst["arrivals"]) for (base, _g), lst in zip(groups, last)]
    return {"cpu": cpu, "load": load_busy, "load_per_process": load_busy / len(load),
            "viewers": viewers, "arrivals": arrivals,
            # every core of the machine, whoever keeps it busy (other work included)
            "machine": (busy_after - busy_before) / max(1, all_after - all_before) * 100,
            "sample": f"{sample['valid']}/{sample['frames']} pattern, "
                      f"{sample['ordered']} in order"}


def run(n: int, seconds: float, *, transcode: bool = False, forward: str = "lean",
        codec: str = "vp8", redis: tuple[str, str] | None = None) -> dict:
    from liveroom.domain import auth

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="liveroom-bench-")
    server = start_server(port, data_dir, transcode=transcode, forward=forward, redis=redis)
    procs: list[Proc] = []
    try:
        create_room(base)
        host = auth.mint(SECRET, room=ROOM, role="host", user_id="bench-host")
        publisher = Proc([sys.executable, __file__, "--role", "publisher", base, host, codec])
        procs.append(publisher)
        rate = publisher.read()["kbps"]
        time.sleep(2)
        idle = measure_cpu(server.pid, min(seconds, 5))
        groups = start_viewers([base], n)
        procs += [g for _b, g in groups]
        seen = watch({"A": server.pid}, groups, seconds)
        rates = [v[2] for v in seen["viewers"]]
        firsts = [v[4] for v in seen["viewers"] if v[4] is not None]
        busy = seen["cpu"]["A"]
        return {
            "n": n, "mode": "transcode" if transcode else forward, "kbps": rate,
            "idle_cpu": idle, "cpu": busy, "per_viewer": (busy - idle) / n,
            "fps_mean": sum(rates) / len(rates), "fps_median": median(rates),
            "fps_min": min(rates), "lost": sum(v[3] for v in seen["viewers"]),
            "below": sum(1 for rate in rates if rate < 29),
            "ttff_p50": percentile(firsts, 50), "ttff_p95": percentile(firsts, 95),
            "never": n - len(firsts), "rss": rss_mib(server.pid), "load": seen["load"],
            "load_per_process": seen["load_per_process"], "sample": seen["sample"],
            "machine": seen["machine"],
        }
    finally:
        for proc in procs:
            proc.stop()
        stop_server(server, data_dir)


# --- the floor -------------------------------------------------------------------------------
DRAIN = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    s.recv(2048)
"""


def one_second(codec: str) -> list[tuple[float, list[bytes]]]:
    """One second of the publisher's stream as RTP (30 video frames, 50 Opus packets), each
    frame's packets with the time into the second it is sent at."""
    from signaling.aiortc_forwarding import packetizer
    from signaling.demo_host import beep_packets
    from signaling.rtp_fanout import RtpStream

    video = encoded_loop(codec)
    packetize = packetizer({"vp8": "video/VP8", "h264": "video/H264"}[codec])
    stream, sound = RtpStream(0x1234, 96), RtpStream(0x5678, 111)
    frames = [(i / FPS, stream.frame(packetize(video[i], i), i * 3000)) for i in range(FPS)]
    frames += [(i * 0.02, sound.frame([opus], i * 960))
               for i, opus in enumerate(beep_packets())]
    return sorted(frames, key=lambda frame: frame[0])


def srtp_session():
    """A sending SRTP session as aiortc makes one (its first profile, AES-256-GCM), allowed to
    protect the same packets again and again."""
    import pylibsrtp
    from aiortc.rtcdtlstransport import SRTP_PROFILES

    profile = SRTP_PROFILES[0]
    policy = pylibsrtp.Policy(key=os.urandom(profile.key_length + profile.salt_length),
                              ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                              srtp_profile=profile.libsrtp_profile)
    policy.allow_repeat_tx = True
    policy.window_size = 4096  # more packets a second than the default window
    return pylibsrtp.Session(policy)


def floor(codec: str, seconds: float = 1.0) -> float:
    """% of a core per viewer for nothing but SRTP-protecting and sending a viewer's packets:
    one second of the publisher's stream as RTP, protected with pylibsrtp (the profile aiortc
    picks) and sent with sendto on one UDP socket, in a tight loop, to a socket another
    process reads (on loopback the sender's CPU also carries the delivery, as the server's
    does for its viewers)."""
    packets = [p for _at, frame in one_second(codec) for p in frame]
    session = srtp_session()
    drain = subprocess.Popen([sys.executable, "-c", DRAIN], stdout=subprocess.PIPE, text=True)
    address = ("127.0.0.1", int(drain.stdout.readline()))
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.setblocking(False)
    protect, sendto = session.protect, out.sendto
    rounds, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for packet in packets:
            try:
                sendto(protect(packet), address)
            except BlockingIOError:
                pass
        rounds += 1
    used = time.process_time() - start
    drain.kill()
    drain.wait()
    out.close()
    return used / rounds * 100  # CPU seconds per viewer-second, in % of a core


def floor_runs(codec: str, runs: int = 5) -> tuple[float, float, float]:
    """The floor measured `runs` times, one second each: (median, lowest, highest). One
    measurement swings by a tenth or more from run to run (where the drain process runs, what
    else the machine does), which a single figure would pass on to every ratio against it."""
    values = sorted(floor(codec) for _ in range(runs))
    return values[len(values) // 2], values[0], values[-1]


RECEIVERS = """
import asyncio, sys
async def main():
    loop = asyncio.get_running_loop()
    ports = []
    for _ in range(int(sys.argv[1])):
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                           local_addr=("127.0.0.1", 0))
        ports.append(transport.get_extra_info("sockname")[1])
    print(*ports, flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def paced_floor(codec: str, n: int, seconds: float = 5.0) -> float:
    """The floor's work done as a server must do it: the same packets, each viewer with its
    own SRTP session and socket, sent at the stream's pace (a frame when it is due, sleeping in
    between) to n sockets held by asyncio processes of VIEWERS_PER_PROCESS each, as the viewers
    hold theirs. % of a core per viewer. Against `floor`, what a real-time pace costs by itself
    (caches gone cold and receivers woken between frames), with no Python of the server's."""
    frames = one_second(codec)
    receivers = [subprocess.Popen([sys.executable, "-c", RECEIVERS,
                                   str(min(VIEWERS_PER_PROCESS, n - i))],
                                  stdout=subprocess.PIPE, text=True)
                 for i in range(0, n, VIEWERS_PER_PROCESS)]
    addresses = [("127.0.0.1", int(port))
                 for r in receivers for port in r.stdout.readline().split()]
    viewers = []
    for address in addresses:
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        out.setblocking(False)
        viewers.append((srtp_session().protect, out, address))
    start, used_before = time.monotonic(), time.process_time()
    for second in range(int(seconds)):
        for at, packets in frames:
            delay = start + second + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for protect, out, address in viewers:
                for packet in packets:
                    try:
                        out.sendto(protect(packet), address)
                    except BlockingIOError:
                        pass
    used = time.process_time() - used_before
    for receiver in receivers:
        receiver.kill()
        receiver.wait()
    for _protect, out, _address in viewers:
        out.close()
    return used / int(seconds) / n * 100


# --- three instances -------------------------------------------------------------------------
def run_three(n: int, seconds: float, forward: str, codec: str) -> dict:
    """Instances A, B, C on one Redis; the publisher on A; n viewers spread over A, B, C."""
    import redis

    from liveroom.domain import auth

    namespace = f"lrbench{os.getpid()}"
    url = os.environ.get("LIVEROOM_BENCH_REDIS", "redis://127.0.0.1:6379/0")
    names = ["A", "B", "C"]
    ports = [free_port() for _ in names]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    dirs = [tempfile.mkdtemp(prefix="liveroom-bench-") for _ in names]
    servers = [start_server(port, d, forward=forward, redis=(url, namespace))
               for port, d in zip(ports, dirs)]
    procs: list[Proc] = []
    try:
        create_room(bases[0])
        host = auth.mint(SECRET, room=ROOM, role="host", user_id="bench-host")
        publisher = Proc([sys.executable, __file__, "--role", "publisher", bases[0], host,
                          codec])
        procs.append(publisher)
        live = publisher.read()
        time.sleep(2)
        pids = dict(zip(names, (s.pid for s in servers)))
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        time.sleep(min(seconds, 5))
        idle = {name: (cpu_seconds(pid) - before[name]) / min(seconds, 5) * 100
                for name, pid in pids.items()}
        groups = start_viewers(bases, n)
        procs += [g for _b, g in groups]
        seen = watch(pids, groups, seconds)
        # Which instance holds each viewer's session (and so serves its media): A's id is in
        # the publisher's session; B's and C's, in their own viewers' sessions if they serve.
        ids = {"A": {live["instance"]}}
        for name, base in zip(names[1:], bases[1:]):
            ids[name] = {v[1] for v in seen["viewers"] if v[0] == base} - ids["A"]
        reference = [a for b, a in seen["arrivals"] if b == bases[0] and a]
        rows = []
        for name, base in zip(names, bases):
            mine = [v for v in seen["viewers"] if v[0] == base]
            rates = [v[2] for v in mine]
            firsts = [v[4] for v in mine if v[4] is not None]
            serves = sum(1 for v in seen["viewers"] if v[1] in ids[name])
            theirs = [a for b, a in seen["arrivals"] if b == base and a]
            rows.append({
                "name": name, "viewers": len(mine), "cpu": seen["cpu"][name],
                "idle": idle[name], "serves": serves,
                "per_viewer": (seen["cpu"][name] - idle[name]) / serves if serves else None,
                "fps_min": min(rates), "fps_median": median(rates),
                "lost": sum(v[3] for v in mine), "never": len(mine) - len(firsts),
                "ttff_p50": percentile(firsts, 50), "ttff_p95": percentile(firsts, 95),
                "later": None if name == "A" or not reference or not theirs
                else later_than(theirs[0], reference[0]),
            })
        total = sum(seen["cpu"][x] - idle[x] for x in names) / n
        legs = any(row["serves"] for row in rows[1:])
        alone = marginal = None
        if legs:
            marginal = price_a_leg(servers[0].pid, bases[0], seconds)
        if legs:  # A with as many viewers as it serves plus one per leg, to price a leg
            legs_open = sum(1 for row in rows[1:] if row["serves"])
            # on the same engine as A (Redis), its own namespace
            alone = run(rows[0]["serves"] + legs_open, seconds, forward=forward, codec=codec,
                        redis=(url, f"{namespace}a"))
        return {"rows": rows, "kbps": live["kbps"], "load": seen["load"], "legs": legs,
                "machine": seen["machine"],
                "alone": alone, "marginal": marginal,
                "load_per_process": seen["load_per_process"], "sample": seen["sample"],
                "per_viewer_all": total}
    finally:
        for proc in procs:
            proc.stop()
        for server, d in zip(servers, dirs):
            stop_server(server, d)
        client = redis.Redis.from_url(url)
        for pattern in (f"{namespace}:*", f"{namespace}a:*"):
            for key in client.scan_iter(pattern, count=1000):
                client.delete(key)
        client.close()


EXTRA = 10  # legs, then viewers, added to A to price one of each


def price_a_leg(pid: int, base: str, seconds: float) -> dict:
    """What one more leg and one more viewer cost A at the same moment of the same run: EXTRA
    more legs (read as an instance reads one), then EXTRA more viewers, each against the mean
    of the windows of A just before and just after, with B, C and every other viewer still
    running. Unlike A alone in a run of its own, both see the machine as busy as the three
    instances make it."""
    first = measure_cpu(pid, seconds)
    legs = Proc([sys.executable, __file__, "--role", "legs", base, str(EXTRA)])
    try:
        legs.read()
        with_legs = measure_cpu(pid, seconds)
    finally:
        legs.stop()
    between = measure_cpu(pid, seconds)
    viewers = Proc([sys.executable, __file__, "--role", "viewers", base, str(EXTRA), "-"])
    try:
        viewers.read(timeout=300)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and None in viewers.ask()["first"]:
            time.sleep(1)
        with_viewers = measure_cpu(pid, seconds)
    finally:
        viewers.stop()
    last = measure_cpu(pid, seconds)
    return {"legs": (with_legs - (first + between) / 2) / EXTRA,
            "viewers": (with_viewers - (between + last) / 2) / EXTRA,
            "windows": (first, with_legs, between, with_viewers, last)}


def later_than(theirs: dict[str, float], reference: dict[str, float]) -> float | None:
    """Median of how much later the same frames reached `theirs` than `reference` (s)."""
    gaps = [theirs[k] - reference[k] for k in theirs.keys() & reference.keys()
            if abs(theirs[k] - reference[k]) < 1.0]
    return median(gaps) if gaps else None


def print_three(r: dict, n: int, seconds: float, codec: str, forward: str) -> None:
    print(f"Three instances on one Redis, {forward} forwarding: publisher on A ({W}x{H} {FPS} fps "
          f"{codec.upper()} {r['kbps']} kbps + Opus), {n} viewers spread over A, B, C; "
          f"{seconds:.0f} s window")
    print(f"{'instance':>8} {'viewers':>7} {'serves':>6} {'CPU':>7} {'CPU/served':>10} "
          f"{'fps min':>7} {'fps med':>7} {'lost':>5} {'TTFF p50':>9} {'TTFF p95':>9} "
          f"{'later than A':>12}")
    for row in r["rows"]:
        never = f"  ({row['never']} never got a frame)" if row["never"] else ""
        per = "-" if row["per_viewer"] is None else f"{row['per_viewer']:.2f}%"
        later = "-" if row["later"] is None else f"{row['later'] * 1000:.1f}ms"
        print(f"{row['name']:>8} {row['viewers']:>7} {row['serves']:>6} "
              f"{row['cpu']:>6.1f}% {per:>10} {row['fps_min']:>7.1f} "
              f"{row['fps_median']:>7.1f} {row['lost']:>5} {row['ttff_p50'] * 1000:>7.0f}ms "
              f"{row['ttff_p95'] * 1000:>7.0f}ms {later:>12}{never}")
    print(f"  all instances: {r['per_viewer_all']:.2f}% of a core per viewer; load generator "
          f"{r['load']:.0f}% ({r['load_per_process']:.0f}% per viewer process); machine "
          f"{r['machine']:.0f}% busy; sample viewer {r['sample']}")
    if not r["legs"]:
        print("  no relay legs opened: B and C routed their viewers' media to A (serves = "
              "sessions held); 'later than A' is only the order of A's fan-out; a leg's cost "
              "and its added latency: n/a")
    else:
        a, alone = r["rows"][0], r["alone"]
        legs = sum(1 for row in r["rows"][1:] if row["serves"])
        per_leg = ((a["cpu"] - a["idle"]) - a["serves"] * alone["per_viewer"]) / legs
        print(f"  A with {a['serves']} viewers + {legs} legs: {a['cpu'] - a['idle']:.1f}%; A alone "
              f"with {alone['n']} viewers: {alone['cpu'] - alone['idle_cpu']:.1f}%: a leg costs "
              f"{per_leg:.2f}% against {alone['per_viewer']:.2f}% per viewer; a leg adds the "
              "'later than A' column")
        m = r["marginal"]
        w = m["windows"]
        print(f"  at the same moment, A's CPU as is / with {EXTRA} legs more / as is / with "
              f"{EXTRA} viewers more / as is: {' / '.join(f'{x:.1f}%' for x in w)}: "
              f"{m['legs']:.2f}% per leg, {m['viewers']:.2f}% per viewer; a leg costs "
              f"{m['legs'] / m['viewers']:.2f} of a viewer")


# --- capacity --------------------------------------------------------------------------------
def capacity(steps: list[int], seconds: float, codec: str) -> tuple[int | None, str]:
    """The largest N of `steps` one instance serves with every viewer at >= 29 fps while no
    viewer process is saturated (under 85 % of a core); why it stopped."""
    best = None
    for n in steps:
        r = run(n, seconds, forward="lean", codec=codec)
        line = (f"  {n:>4} viewers: server {r['cpu']:.0f}%, {r['per_viewer']:.2f}% per viewer, "
                f"fps median {r['fps_median']:.1f}, slowest {r['fps_min']:.1f} "
                f"({r['below']} under 29), {r['lost']} frames lost, TTFF p95 "
                f"{r['ttff_p95'] * 1000:.0f}ms, load generator {r['load_per_process']:.0f}% "
                f"per process, machine {r['machine']:.0f}% busy")
        print(line, flush=True)
        if r["load_per_process"] > 85:
            return best, f"the load generator saturated at {n} viewers"
        if r["fps_min"] < 29:
            saturated = " with the machine saturated" if r["machine"] > 90 else ""
            return best, f"the slowest viewer got {r['fps_min']:.1f} fps at {n}{saturated}"
        best = n
    return best, "every step held (try more)"


def run_demo(seconds: float) -> None:
    """The demo hosts' cost: a --demo server idle, then with one viewer in every demo room."""
    from liveroom.server.demo import DEMO_ROOMS

    rooms = [room["id"] for room, _products in DEMO_ROOMS]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="liveroom-bench-")
    server = start_server(port, data_dir, demo=True)
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
    parser.add_argument("--viewers", type=int, nargs="+", default=None)
    parser.add_argument("--seconds", type=float, default=15.0, help="measuring window per N")
    parser.add_argument("--forward", nargs="+", choices=["lean", "aiortc"],
                        default=["lean", "aiortc"],
                        help="LIVEROOM_MEDIA_FORWARD of the server(s); several: each in turn")
    parser.add_argument("--codec", choices=["vp8", "h264"], default=None,
                        help="the publisher's video (default: vp8; h264 with --instances 3)")
    parser.add_argument("--transcode", action="store_true",
                        help="the server decodes and re-encodes for every viewer")
    parser.add_argument("--instances", type=int, choices=[1, 3], default=1,
                        help="3: A, B, C on one Redis (LIVEROOM_BENCH_REDIS, default "
                             "redis://127.0.0.1:6379/0), the publisher on A")
    parser.add_argument("--capacity", type=int, nargs="*", default=None,
                        help="viewer counts to try on one instance for the largest at "
                             ">= 29 fps (with --instances 3: default 50 100 150 200)")
    parser.add_argument("--demo", action="store_true",
                        help="measure the demo hosts of a --demo server instead")
    parser.add_argument("--role", choices=["publisher", "viewers", "legs"],
                        help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(publisher_main(f"{args.rest[0]}/whip/rooms/{ROOM}", args.rest[1],
                                   args.rest[2] if len(args.rest) > 2 else "vp8"))
        return
    if args.role == "legs":
        asyncio.run(legs_main(args.rest[0], int(args.rest[1])))
        return
    if args.role == "viewers":
        room = args.rest[3] if len(args.rest) > 3 else ROOM
        asyncio.run(viewers_main(f"{args.rest[0]}/whep/rooms/{room}", int(args.rest[1]),
                                 args.rest[2] == "sample"))
        return
    if args.demo:
        run_demo(args.seconds)
        return
    codec = args.codec or ("h264" if args.instances == 3 else "vp8")
    encoded_loop(codec)  # encode (or load) the publisher's loop before anything is measured
    cores = os.cpu_count()
    if args.instances == 3:
        n = (args.viewers or [60])[0]
        forward = args.forward[0]
        r = run_three(n, args.seconds, forward, codec)
        print_three(r, n, args.seconds, codec, forward)
        base, low, high = floor_runs(codec)
        print(f"  floor (SRTP-protect + sendto, one socket): {base:.3f}% of a core per viewer "
              f"(median of 5 runs, {low:.3f}-{high:.3f}); all instances' per-viewer CPU is "
              f"{r['per_viewer_all'] / base:.1f}x it")
        paced = paced_floor(codec, n // 3)
        print(f"  paced floor (the same for {n // 3} viewers' own sessions and sockets, at the "
              f"stream's pace): {paced:.3f}% per viewer; all instances' is "
              f"{r['per_viewer_all'] / paced:.1f}x it")
        steps = args.capacity if args.capacity else [50, 100, 150, 200]
    else:
        steps = args.capacity or []
        viewers = args.viewers if args.viewers is not None else ([] if steps else [10, 50])
        modes = ["transcode"] if args.transcode else args.forward
        if viewers:
            print(f"Media relay, one instance: 1 publisher {W}x{H} {FPS} fps {codec.upper()} + "
                  f"Opus; {args.seconds:.0f} s windows; {cores} cores")
            print(f"{'viewers':>7} {'forward':>9} {'kbps':>5} {'server CPU':>10} "
                  f"{'CPU/viewer':>10} {'fps mean':>8} {'median':>6} {'slowest':>7} "
                  f"{'lost':>5} {'TTFF p50':>9} {'TTFF p95':>9} {'RSS MiB':>7} "
                  f"{'viewers CPU':>11} {'machine':>7}  sample viewer")
        results = []
        for n in viewers:
            for mode in modes:
                r = run(n, args.seconds, transcode=mode == "transcode",
                        forward=mode if mode != "transcode" else "lean", codec=codec)
                results.append(r)
                never = f" ({r['never']} never got a frame)" if r["never"] else ""
                print(f"{n:>7} {mode:>9} {r['kbps']:>5} {r['cpu']:>9.1f}% "
                      f"{r['per_viewer']:>9.2f}% {r['fps_mean']:>8.1f} {r['fps_median']:>6.1f} "
                      f"{r['fps_min']:>7.1f} {r['lost']:>5} {r['ttff_p50'] * 1000:>7.0f}ms "
                      f"{r['ttff_p95'] * 1000:>7.0f}ms {r['rss']:>7.0f} {r['load']:>10.0f}% "
                      f"{r['machine']:>6.0f}%  {r['sample']}{never}", flush=True)
        if results:
            base, low, high = floor_runs(codec)
            print(f"floor (SRTP-protect + sendto of the same packets, one socket): "
                  f"{base:.3f}% of a core per viewer (median of 5 runs, {low:.3f}-{high:.3f})")
            for r in results:
                print(f"  {r['n']:>4} viewers, {r['mode']:>9}: {r['per_viewer'] / base:5.1f}x "
                      "the floor")
            print("paced floor (the same, each viewer with its own SRTP session and socket, "
                  "at the stream's pace, to sockets held as the viewers hold theirs):")
            for n in viewers:
                paced = paced_floor(codec, n)
                print(f"  {n:>4} viewers: {paced:.3f}% of a core per viewer ({paced / base:.1f}x "
                      "the floor); " + ", ".join(
                          f"{r['mode']} {r['per_viewer'] / paced:.1f}x it"
                          for r in results if r["n"] == n), flush=True)
    if steps:
        print(f"Capacity of one instance (lean, {codec.upper()}, {args.seconds:.0f} s windows):",
              flush=True)
        best, why = capacity(steps, args.seconds, codec)
        print(f"  largest viewer count at >= 29 fps with the load generator unsaturated: "
              f"{best if best is not None else 'below ' + str(steps[0])} ({why})")


if __name__ == "__main__":
    main()
