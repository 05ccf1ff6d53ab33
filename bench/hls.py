"""HLS benchmark: what the segmenter costs, how far behind an HLS player is, and what 1,000 HLS
players cost the instances behind the deploy nginx cache.

    python bench/hls.py                      # all three, default sizes
    python bench/hls.py --only segmenter     # or latency, or crowd
    python bench/hls.py --players 1000 --seconds 20

1. **Segmenter cost**: in this process, a Recorder (signaling/hls/segmenter.py) fed a
   pre-encoded 640x360 H.264 loop at about 1 Mbit/s (a keyframe a second) and Opus, in real
   time, writing its segments to a temporary data dir; the CPU time spent inside the Sources'
   push (the tap, the muxer, the files), over the wall time: % of one core per live room.
2. **Latency**: a real `liveroom serve`, a WHIP publisher (aiortc, pre-encoded 320x240 pattern
   whose blocks spell the frame number, a keyframe every 32 frames, ignoring keyframe requests
   like OBS), and the room page in headless Chromium with ?playback=hls (hls.js). Every 200 ms
   the page reads the frame number off the picture it shows; the publisher's last sent frame
   minus it is the latency (p50, p95).
3. **Crowd**: Redis, two `liveroom serve` instances and nginx with deploy/nginx/ (only the
   listening port, the cache directory and the upstream addresses changed), the publisher on
   the first instance, and load processes of N players through nginx, each fetching the live
   playlist every target duration and every segment it lists that it has not fetched (what
   hls.js does at the live edge). From nginx's access log: the requests that reached an
   instance per segment; CPU of each instance and of nginx, in % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import fractions
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
import av  # noqa: E402
from common import cpu_seconds, free_port, percentile, raise_fd_limit  # noqa: E402

SECRET = "bench-secret-0123456789abcdef-0123456789"
ROOM = "bench"
CHROMIUM = os.environ.get("LIVEROOM_TEST_CHROMIUM", "/usr/bin/chromium")


def token(role: str, room: str = ROOM) -> str:
    from liveroom.domain import auth

    return auth.mint(SECRET, room=room, role=role, user_id=f"bench-{role}", name="Bench",
                     ttl=3600)


# --- the stream ---------------------------------------------------------------------------------
def encoded_loop(width: int, height: int, seconds: int, bitrate: int) -> list[bytes]:
    """H.264 (constrained baseline, Annex B) frames at 30 fps, a keyframe a second: moving
    noise in a band, so the encoder spends about `bitrate`."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.framerate = fractions.Fraction(30, 1)
    codec.bit_rate = bitrate
    codec.profile = "Baseline"
    codec.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "30", "keyint_min": "30",
                     "sc_threshold": "0", "bf": "0"}
    rng = random.Random(7)
    packets = []
    for n in range(30 * seconds):
        frame = av.VideoFrame(width, height, "yuv420p")
        luma = bytearray([96]) * frame.planes[0].buffer_size
        line = frame.planes[0].line_size
        top = (n * 4) % (height - 48)
        for row in range(top, top + 48):
            luma[row * line:row * line + width] = rng.randbytes(width)
        frame.planes[0].update(bytes(luma))
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts = n
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    return packets


# --- 1. the segmenter's cost ----------------------------------------------------------------------
async def segmenter_cost(seconds: float) -> dict:
    from signaling.demo_host import OPUS, beep_packets
    from signaling.hls.segmenter import Recorder
    from signaling.hls.store import DiskRecordings
    from signaling.relay import Source
    from signaling.sdp import h264_codec

    video = encoded_loop(640, 360, 4, 1_000_000)
    audio = beep_packets()
    bits = sum(len(p) for p in video) * 8 / 4
    workdir = Path(tempfile.mkdtemp(prefix="bench-hls-"))
    try:
        store = DiskRecordings(workdir)
        v, a = Source(h264_codec("42e01f")), Source(OPUS)
        recorder = Recorder(ROOM, store, {"video": v, "audio": a}, {})
        loop = asyncio.get_running_loop()
        start = loop.time()
        vi = ai = 0
        cpu = 0.0
        while loop.time() - start < seconds:
            now = loop.time()
            while start + ai * 0.02 <= now:
                t0 = time.thread_time()
                a.push(audio[ai % len(audio)], ai * 960)
                cpu += time.thread_time() - t0
                ai += 1
            while start + vi / 30 <= now:
                t0 = time.thread_time()
                v.push(video[vi % len(video)], vi * 3000)
                cpu += time.thread_time() - t0
                vi += 1
            await asyncio.sleep(min(start + vi / 30, start + ai * 0.02) - loop.time())
        wall = loop.time() - start
        t0 = time.thread_time()
        recorder.close()
        cpu += time.thread_time() - t0
        segments = store.segments(ROOM, recorder.session) or []
        return {"core_percent": 100 * cpu / wall, "mbps": bits / 1e6, "segments": len(segments),
                "mean_segment_s": sum(s.duration for s in segments) / max(1, len(segments)),
                "seconds": wall}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- servers ------------------------------------------------------------------------------------
class Procs:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{what} exited with {proc.returncode}")
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not answer at {url}")
            await asyncio.sleep(0.1)


def liveroom(procs: Procs, name: str, redis_url: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LIVEROOM_SECRET": SECRET, "LIVEROOM_PORT": str(port),
           "LIVEROOM_DATA_DIR": str(procs.workdir / name), "LIVEROOM_ICE_ADDRESSES": "127.0.0.1",
           "LIVEROOM_LOG_LEVEL": "WARNING", "LIVEROOM_MAX_CONNECTIONS": "20000"}
    env.pop("LIVEROOM_REDIS_URL", None)
    if redis_url:
        env["LIVEROOM_REDIS_URL"] = redis_url
        env["LIVEROOM_REDIS_NAMESPACE"] = f"benchhls{os.getpid()}"
    proc = procs.start(name, [sys.executable, "-m", "liveroom.server", "serve"], env)
    return proc, f"http://127.0.0.1:{port}"


async def create_room(url: str) -> None:
    from liveroom.domain import auth

    admin = auth.mint(SECRET, room="*", role="admin", user_id="operator", name="Operator")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/rooms", headers={"Authorization": f"Bearer {admin}"},
                             json={"id": ROOM, "title": "Bench", "country": "Thailand",
                                   "country_code": "TH"}) as response:
            assert response.status in (201, 409), await response.text()


async def publish(url: str):
    """The pattern publisher over WHIP; its peer connection and its video track."""
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from tests.signaling.clients import obs_audio, obs_video, prefer, strip_candidates

    pc = RTCPeerConnection()
    track = obs_video()
    prefer(pc.addTransceiver(track, direction="sendonly"), "video/H264", "42e01f")
    prefer(pc.addTransceiver(obs_audio(), direction="sendonly"), "audio/opus")
    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/whip/rooms/{ROOM}",
                             data=strip_candidates(pc.localDescription.sdp),
                             headers={"Content-Type": "application/sdp",
                                      "Authorization": f"Bearer {token('host')}"}) as response:
            assert response.status == 201, await response.text()
            answer = await response.text()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc, track


async def live_playlist(url: str, count: int = 2, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(f"{url}/hls/rooms/{ROOM}/live.m3u8") as response:
                text = await response.text()
            if response.status == 200 and text.count("#EXTINF") >= count:
                return text
            await asyncio.sleep(0.3)
    raise SystemExit("no live playlist")


# --- 2. latency in Chromium ---------------------------------------------------------------------
READ_FRAME = """() => {
  const v = document.querySelector('[data-video]');
  if (!v || v.videoWidth !== 320 || v.readyState < 2) return null;
  const c = window.__benchCanvas ||= Object.assign(document.createElement('canvas'),
                                                   {width: 320, height: 240});
  const g = c.getContext('2d', {willReadFrequently: true});
  g.drawImage(v, 0, 0, 320, 240);
  const row = g.getImageData(0, 20, 320, 1).data;
  let n = 0;
  for (let bit = 0; bit < 8; bit++) if (row[(bit * 40 + 20) * 4] > 128) n |= 1 << bit;
  return n;
}"""


async def latency(seconds: float, workdir: Path) -> dict:
    from aiortc.rtcicetransport import RTCIceGatherer  # noqa: F401 (aiortc loaded first)
    from playwright.async_api import async_playwright

    from signaling.aiortc_forwarding import restrict_host_addresses

    restrict_host_addresses(["127.0.0.1"])
    procs = Procs(workdir)
    try:
        proc, url = liveroom(procs, "latency", None)
        await wait_http(f"{url}/healthz", proc, "liveroom")
        await create_room(url)
        pc, track = await publish(url)
        await live_playlist(url)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu",
                                                    "--autoplay-policy=no-user-gesture-required"])
            page = await browser.new_page()
            await page.goto(f"{url}/rooms/{ROOM}?playback=hls")
            samples = []
            started = time.monotonic()
            deadline = started + seconds + 20
            while time.monotonic() < deadline and len(samples) < seconds * 5:
                shown = await page.evaluate(READ_FRAME)
                sent = track._i - 1
                if shown is not None:
                    samples.append(((sent - shown) % 256) / 30)
                await asyncio.sleep(0.2)
            await browser.close()
        await pc.close()
        samples.sort()
        return {"p50": percentile(samples, 50), "p95": percentile(samples, 95),
                "samples": len(samples)}
    finally:
        procs.stop()
        restrict_host_addresses([])


# --- 3. the crowd -------------------------------------------------------------------------------
def nginx_config(workdir: Path, ports: list[int]) -> tuple[Path, int, Path]:
    deploy = ROOT / "deploy" / "nginx"
    port = free_port()
    site = (deploy / "liveroom.conf").read_text()
    site = re.sub(r"^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{port};", site, flags=re.M)
    cache = workdir / "hls-cache"
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    workdir.chmod(0o755)
    workdir.parent.chmod(0o755)  # nginx's workers (not root) reach the cache through it
    site = re.sub(r"proxy_cache_path\s+\S+", f"proxy_cache_path {cache}", site)
    site = site.replace("access_log /dev/stdout liveroom_json;",
                        f"access_log {workdir}/access.log liveroom_json;")
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)
    upstreams = f"upstream liveroom {{\n    least_conn;\n{servers}\n}}\n"
    (workdir / "site.conf").write_text(site)
    (workdir / "upstreams.conf").write_text(upstreams)
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
worker_processes 2;
worker_rlimit_nofile 65536;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    keepalive_requests 100000;
    include {workdir}/upstreams.conf;
    include {workdir}/site.conf;
}}
""")
    return conf, port, workdir / "access.log"


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


async def _players(base: str, count: int, seconds: float) -> dict:
    """`count` players at the live edge for `seconds`: playlist every target duration, each
    new segment once."""
    connector = aiohttp.TCPConnector(limit=0)
    counts = collections.Counter()

    async def run(i: int, http: aiohttp.ClientSession) -> None:
        await asyncio.sleep(random.random())
        seen: set[str] = set()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = time.monotonic()
            try:
                async with http.get(f"{base}/hls/rooms/{ROOM}/live.m3u8") as response:
                    text = await response.text()
                    counts["playlists"] += 1
                names = [line for line in text.splitlines() if line and line[0] != "#"]
                for name in names[-2:] if not seen else names:
                    if name in seen:
                        continue
                    async with http.get(f"{base}/hls/rooms/{ROOM}/{name}") as response:
                        await response.read()
                        if response.status == 200:
                            counts["segments"] += 1
                        else:
                            counts["errors"] += 1
                            counts[f"error: HTTP {response.status} {name}"[:60]] += 1
                    seen.add(name)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                counts["errors"] += 1
                counts[f"error: {type(exc).__name__}: {str(exc)[:80]}"] += 1
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))

    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(run(i, http) for i in range(count)))
    return dict(counts)


def player_process(base: str, count: int, seconds: float, results) -> None:
    raise_fd_limit()
    results.put(asyncio.run(_players(base, count, seconds)))


async def crowd(players: int, seconds: float, workdir: Path) -> dict:
    from signaling.aiortc_forwarding import restrict_host_addresses

    restrict_host_addresses(["127.0.0.1"])
    raise_fd_limit()
    procs = Procs(workdir)
    try:
        redis_port = free_port()
        procs.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", str(workdir)])
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        a, url_a = liveroom(procs, "origin", redis_url)
        b, url_b = liveroom(procs, "other", redis_url)
        await wait_http(f"{url_a}/healthz", a, "origin")
        await wait_http(f"{url_b}/healthz", b, "other")
        await create_room(url_a)
        pc, _track = await publish(url_a)
        await live_playlist(url_a, 3)
        (workdir / "nginx").mkdir()
        conf, port, access = nginx_config(workdir / "nginx", [int(url_a.rsplit(":", 1)[1]),
                                                             int(url_b.rsplit(":", 1)[1])])
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        nginx = procs.start("nginx", [binary, "-p", str(conf.parent), "-c", str(conf),
                                      "-e", str(conf.parent / "error.log"),
                                      "-g", "daemon off;"])
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/healthz", nginx, "nginx")
        nginx_pids = [nginx.pid] + children(nginx.pid)

        ctx = mp.get_context("spawn")
        results = ctx.Queue()
        loaders = 2
        before = {name: sum(cpu_seconds(p) for p in pids) for name, pids in
                  {"origin": [a.pid], "other": [b.pid], "nginx": nginx_pids}.items()}
        started = time.monotonic()
        workers = [ctx.Process(target=player_process,
                               args=(base, players // loaders, seconds, results))
                   for _ in range(loaders)]
        for w in workers:
            w.start()
        totals = collections.Counter()
        loop = asyncio.get_running_loop()
        for _ in workers:  # off the event loop: the publisher lives on it
            totals.update(await loop.run_in_executor(None, results.get, True, seconds + 120))
        for w in workers:
            await loop.run_in_executor(None, w.join)
        wall = time.monotonic() - started
        after = {name: sum(cpu_seconds(p) for p in pids) for name, pids in
                 {"origin": [a.pid], "other": [b.pid], "nginx": nginx_pids}.items()}
        await pc.close()
        # Requests that reached an instance, per segment (a cache hit has no upstream status).
        upstream: collections.Counter = collections.Counter()
        served: collections.Counter = collections.Counter()
        for line in access.read_text().splitlines():
            entry = json.loads(line)
            if not entry["uri"].endswith(".m4s"):
                continue
            served[entry["uri"]] += 1
            if entry["upstream_status"] not in ("", "-"):
                upstream[entry["uri"]] += len(entry["upstream_status"].split(","))
        per_segment = sorted(upstream[uri] for uri in served)
        return {
            "players": players, "seconds": wall, **totals,
            "segments_served": len(served),
            "upstream_per_segment_mean": sum(per_segment) / max(1, len(per_segment)),
            "upstream_per_segment_max": max(per_segment, default=0),
            "cpu": {name: 100 * (after[name] - before[name]) / wall for name in before},
        }
    finally:
        procs.stop()
        restrict_host_addresses([])


# --- the table ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("segmenter", "latency", "crowd"))
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--players", type=int, default=1000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-hls-"))
    rows = []
    try:
        if args.only in (None, "segmenter"):
            r = asyncio.run(segmenter_cost(args.seconds))
            rows.append(("segmenter, one live room", f"{r['core_percent']:.2f} % of a core",
                         f"< 2 %; stream {r['mbps']:.2f} Mbit/s, {r['segments']} segments of "
                         f"{r['mean_segment_s']:.2f} s"))
        if args.only in (None, "latency"):
            r = asyncio.run(latency(args.seconds, workdir))
            rows.append(("publisher frame -> hls.js picture", f"p50 {r['p50']:.2f} s, "
                         f"p95 {r['p95']:.2f} s", f"< 5 s; {r['samples']} samples"))
        if args.only in (None, "crowd"):
            r = asyncio.run(crowd(args.players, args.seconds, workdir))
            rows.append((f"{r['players']} HLS players via nginx, 2 instances",
                         f"{r['upstream_per_segment_mean']:.2f} instance requests per segment "
                         f"(max {r['upstream_per_segment_max']})",
                         f"<= 2; {r.get('segments', 0)} segment and {r.get('playlists', 0)} "
                         f"playlist fetches, {r.get('errors', 0)} errors in {r['seconds']:.0f} s"))
            for key, n in r.items():
                if key.startswith("error: "):
                    print(f"{n} x {key}", file=sys.stderr)
            cpu = r["cpu"]
            rows.append(("  CPU, % of one core", f"origin {cpu['origin']:.1f}, other "
                         f"{cpu['other']:.1f}, nginx {cpu['nginx']:.1f}",
                         f"{r['segments_served']} segments served"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    value = max(len(r[1]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'result'.ljust(value)}  notes")
    for name, result, note in rows:
        print(f"{name.ljust(width)}  {result.ljust(value)}  {note}")


if __name__ == "__main__":
    main()
