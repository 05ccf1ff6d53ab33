"""Chat fan-out across two instances on one Redis: liveroom against two references, in one run.

    python bench/fanout.py --viewers 2000 --rate 5 --duration 20

For each system (liveroom; the leanest aiohttp + Redis pub/sub relay, bench/lean_relay.py; and
python-socketio with AsyncRedisManager, bench/socketio_relay.py) the bench starts two server
processes on a private Redis, connects N viewers split evenly between them, then publishes chat
into the one room at a fixed rate through one publisher connection per instance. The load
generator (bench/wsload.py, bench/publisher.py) runs in processes of its own and is the same for
every system; so is the Redis, flushed between systems.

Timeline per system: servers up; viewers connect; --settle seconds idle (memory and idle CPU
are read at its ends); publishing starts: --warmup seconds, then the --duration window in which
deliveries, latency and CPU are measured; publishing stops and the bench waits (at most --drain
seconds) until every viewer has every message, then checks.

One row per system:
  deliv/s      deliveries counted by the viewers during the window, per second
  p50/p99/p99.9  end-to-end latency in ms, from the *intended* send time of the fixed-rate
               schedule to the read on a sample of viewers (spread through the connection
               order): a server or publisher that falls behind cannot hide its queue
  CPU s/M      CPU seconds of both server processes during the window per million deliveries
               (Redis's own CPU is given apart, as Redis s/M)
  KB/viewer    growth of both servers' RSS from before the viewers connected to all of them
               connected and idle, per viewer
  lost, dup, ooo  over every viewer and every message of the run (warm-up and tail included):
               messages never received, received twice, received after a later message of the
               same publisher (order is per publisher: two publishers on two instances have no
               order between them)
  dropped      viewers whose connection ended during the run

--redis picks what the instances share: `single` (one redis-server, the default), `sentinel` (a
primary, two replicas, three sentinels) or `cluster` (three primaries, three replicas), started
as the tests start them (tests/ha/servers.py). Only liveroom speaks Sentinel and Cluster, so
those run the liveroom system alone; Redis CPU is then the primaries' (per shard under the table).

Compare systems within one run only: the machine is shared and its speed varies between runs.
Under the table: idle CPU, where the CPU of the window went (the load generator's share, and
the rest of the machine: kernel threads, other tenants), and liveroom's ratios to the targets.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import json
import multiprocessing
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))

from common import (  # noqa: E402
    PUBLISHER_IDS,
    cpu_seconds,
    free_port,
    percentile,
    raise_fd_limit,
    rss_bytes,
)
from publisher import publisher_main  # noqa: E402
from wsload import loader_main  # noqa: E402

SYSTEMS = ("liveroom", "lean", "socketio")
TITLES = {"liveroom": "liveroom", "lean": "lean relay", "socketio": "python-socketio"}
INSTANCES = 2
PUBLISHERS = [PUBLISHER_IDS[j] for j in range(INSTANCES)]  # one per instance
SECRET = "fanout-bench-secret-0123456789abcdefghijklmnop"
ROOM = "bench"
START_TIMEOUT = 30.0


# --- processes -----------------------------------------------------------------------------
class Processes:
    """Everything this run started, stopped in reverse order whatever happens."""

    def __init__(self) -> None:
        self._items: list[Any] = []

    def add(self, item: Any) -> Any:
        self._items.append(item)
        return item

    def stop(self, item: Any, timeout: float = 10.0) -> None:
        if item not in self._items:
            return
        self._items.remove(item)
        if isinstance(item, subprocess.Popen):
            if item.poll() is None:
                item.send_signal(signal.SIGINT)
                try:
                    item.wait(timeout)
                except subprocess.TimeoutExpired:
                    item.kill()
                    item.wait()
        else:  # multiprocessing.Process
            item.join(timeout)
            if item.is_alive():
                item.kill()
                item.join()

    def stop_all(self) -> None:
        for item in reversed(list(self._items)):
            with contextlib.suppress(Exception):
                self.stop(item, timeout=5.0)


def _die_with_parent() -> None:
    """In a server child, before exec: get SIGTERM if the bench dies, even by SIGKILL."""
    PR_SET_PDEATHSIG = 1
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_http(proc: subprocess.Popen, url: str, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} while starting; its log:\n"
                             f"{log_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not answer {url} within {START_TIMEOUT:.0f}s; its log:\n"
                     f"{log_tail(log)}")


def start_redis(procs: Processes, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = workdir / "redis.log"
    with log.open("w") as out:
        proc = procs.add(subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxclients", "20000", "--dir", str(workdir)],
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        ))
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"redis-server did not start; its log:\n{log_tail(log)}")
            time.sleep(0.05)
    client.close()
    return proc, f"redis://127.0.0.1:{port}/0"


@dataclass
class Deployment:
    """What the instances share: their URL, and the primaries that do the work (one for a
    single server or Sentinel, one per shard for a cluster), by redis:// URL and process id."""

    url: str
    primaries: Any  # () -> list[tuple[redis:// url, pid]], read when needed (after a failover)

    def pids(self) -> list[int]:
        return [pid for _url, pid in self.primaries()]


def start_deployment(kind: str, procs: Processes, workdir: Path) -> tuple[Deployment, Any]:
    """The deployment --redis names, and its cleanup."""
    if kind == "single":
        proc, url = start_redis(procs, workdir)
        return Deployment(url, lambda: [(url, proc.pid)]), lambda: None
    from tests.ha.servers import Cluster, SentinelGroup

    if kind == "sentinel":
        group = SentinelGroup().start()
        return Deployment(group.url, lambda: [(f"redis://127.0.0.1:{group.primary().port}/0",
                                               group.primary().pid())]), group.cleanup
    cluster = Cluster().start()
    return Deployment(cluster.url, lambda: [(f"redis://127.0.0.1:{n.port}/0", n.pid())
                                            for n in cluster.primaries()]), cluster.cleanup


def redis_calls(deployment: Deployment) -> dict[str, int]:
    """Calls per command so far, from INFO commandstats, summed over the primaries."""
    import redis

    calls: dict[str, int] = collections.Counter()
    for url, _pid in deployment.primaries():
        client = redis.Redis.from_url(url)
        try:
            stats = client.info("commandstats")
        finally:
            client.close()
        for name, value in stats.items():
            calls[name.removeprefix("cmdstat_")] += value["calls"]
    return dict(calls)


def flush_redis(deployment: Deployment) -> None:
    import redis

    for url, _pid in deployment.primaries():
        client = redis.Redis.from_url(url)
        client.flushall()
        client.close()


# --- the systems ---------------------------------------------------------------------------
@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path


@dataclass
class System:
    name: str
    redis_url: str
    workdir: Path
    profile_dir: Path | None = None
    servers: list[Server] = field(default_factory=list)

    def command(self, index: int, port: int) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        if self.name == "liveroom":
            data_dir = self.workdir / f"liveroom-{index}"
            data_dir.mkdir(exist_ok=True)
            env.update({
                "LIVEROOM_HOST": "127.0.0.1", "LIVEROOM_PORT": str(port),
                "LIVEROOM_REDIS_URL": self.redis_url, "LIVEROOM_SECRET": SECRET,
                "LIVEROOM_CONNECTIONS_PER_ADDRESS": "0",  # every client is 127.0.0.1
                "LIVEROOM_DATA_DIR": str(data_dir),
                "LIVEROOM_CHAT_PER_SECOND": "1000", "LIVEROOM_CHAT_BURST": "1000",
                "LIVEROOM_COMMANDS_PER_SECOND": "1000",
            })
            run = ["-m", "liveroom.server", "serve"]
            if self.profile_dir is not None and index == 0:
                out = self.profile_dir / "liveroom-0.prof"
                run = ["-m", "cProfile", "-o", str(out), *run]
            return [sys.executable, *run], env
        script = {"lean": "lean_relay.py", "socketio": "socketio_relay.py"}[self.name]
        return [sys.executable, str(BENCH / script), "--port", str(port),
                "--redis-url", self.redis_url], env

    def start(self, procs: Processes) -> None:
        for index in range(INSTANCES):
            port = free_port()
            cmd, env = self.command(index, port)
            log = self.workdir / f"{self.name}-{index}.log"
            with log.open("w") as out:
                proc = procs.add(subprocess.Popen(
                    cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                ))
            self.servers.append(Server(proc, port, log))
        for index, server in enumerate(self.servers):
            wait_http(server.proc, f"http://127.0.0.1:{server.port}/healthz", server.log,
                      f"{self.name} instance {index}")
        if self.name == "liveroom":
            self._create_room()

    def _create_room(self) -> None:
        from liveroom.domain import auth

        token = auth.mint(SECRET, room="*", role="admin", user_id="operator", name="Operator")
        body = json.dumps({"id": ROOM, "title": "Bench", "country": "Thailand",
                           "country_code": "TH"}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.servers[0].port}/api/rooms", data=body, method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201, response.status
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"creating the room failed: {exc.code} {exc.read()[:300]!r}")

    def path(self, role: str, user: str) -> str:
        if self.name == "liveroom":
            from liveroom.domain import auth

            token = auth.mint(SECRET, room=ROOM, role=role, user_id=user,
                              name=user.replace("-", " ").title())
            return f"/ws/rooms/{ROOM}?access_token={token}"
        if self.name == "socketio":
            return "/socket.io/?EIO=4&transport=websocket"
        return "/ws"

    def target(self, index: int, role: str, user: str) -> dict[str, Any]:
        server = self.servers[index % INSTANCES]
        return {"host": "127.0.0.1", "port": server.port, "path": self.path(role, user)}

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.servers]

    def check_alive(self) -> None:
        for index, server in enumerate(self.servers):
            if server.proc.poll() is not None:
                raise SystemExit(f"{self.name} instance {index} died (exit {server.proc.returncode});"
                                 f" its log:\n{log_tail(server.log)}")

    def stop(self, procs: Processes) -> None:
        # A liveroom instance drains before it exits (LIVEROOM_DRAIN_TIMEOUT, 20 s by default);
        # the profiled one must get that far to write its profile.
        timeout = 40.0 if self.profile_dir is not None else 10.0
        for server in self.servers:
            procs.stop(server.proc, timeout)


# --- measuring -------------------------------------------------------------------------------
def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / ticks, total / ticks


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def sleep_until(when: float) -> None:
    delay = when - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def expect(pipe, command: str, timeout: float, what: str) -> Any:
    if not pipe.poll(timeout):
        raise SystemExit(f"{what}: no {command!r} within {timeout:.0f}s")
    got, payload = pipe.recv()
    if got == "error":
        raise SystemExit(f"{what} failed:\n{payload}")
    if got != command:
        raise SystemExit(f"{what}: expected {command!r}, got {got!r}")
    return payload


@dataclass
class Row:
    system: str
    viewers: int = 0
    deliveries_per_s: float = 0.0
    p50: float = float("nan")
    p99: float = float("nan")
    p999: float = float("nan")
    cpu_per_m: float = float("nan")
    redis_per_m: float = float("nan")
    kb_per_viewer: float = float("nan")
    lost: int = 0
    dups: int = 0
    late: int = 0
    dropped: int = 0
    notes: list[str] = field(default_factory=list)


def sample_groups(viewers: int, sample: int, loaders: int) -> list[int]:
    """Which load child holds viewer i: 0 samples latency, 1..L are bulk.

    Viewer i goes to instance i % 2 and opens i-th; every stride/2-th viewer of each instance is
    sampled, so the samples are spread through each server's connection order.
    """
    stride = max(2, 2 * viewers // max(1, sample))
    return [0 if sample > 0 and i % stride < 2 else 1 + i % loaders for i in range(viewers)]


def connect_viewers(system: System, args: argparse.Namespace, procs: Processes, mp):
    """Start the load process, open every viewer; return it, its children's pipes and pids."""
    groups = sample_groups(args.viewers, args.sample, args.loaders)
    specs = []
    for i, group in enumerate(groups):
        spec = system.target(i, "viewer", f"viewer-{i}")
        spec.update(kind=system.name, sample=group == 0)
        specs.append(spec)
    pipes = [mp.Pipe() for _ in range(1 + args.loaders)]
    cfg = {"viewers": specs, "groups": groups, "publishers": PUBLISHERS,
           "read_interval": args.read_interval, "concurrency": args.connect_concurrency}
    load = procs.add(mp.Process(target=loader_main, args=([c for _, c in pipes], cfg),
                                daemon=True, name="load"))
    load.start()
    for _, child in pipes:
        child.close()
    loaders = [parent for parent, _ in pipes]
    ready = [expect(pipe, "ready", 60 + args.viewers / 20, "load process") for pipe in loaders]
    connected = sum(r["connected"] for r in ready)
    if connected < args.viewers:
        errors = [e for r in ready for e in r["errors"]]
        raise SystemExit(f"{system.name}: only {connected} of {args.viewers} viewers "
                         f"connected; first errors: {errors}")
    return load, loaders, [r["pid"] for r in ready]


def start_publisher(system: System, procs: Processes, mp):
    parent, child = mp.Pipe()
    cfg = {"kind": system.name, "targets": [
        system.target(j, "moderator", f"pub-{p}") for j, p in enumerate(PUBLISHERS)
    ]}
    publisher = procs.add(mp.Process(target=publisher_main, args=(child, cfg), daemon=True,
                                     name="publisher"))
    publisher.start()
    child.close()
    expect(parent, "connected", 30, "publisher")
    return publisher, parent


@dataclass
class CpuSnapshot:
    servers: float
    redis: float
    generator: float
    publisher: float
    machine: float

    @classmethod
    def take(cls, system: System, redis_pids: list[int], gen_pids: list[int], pub_pid: int):
        return cls(cpu_of(system.pids()), cpu_of(redis_pids), cpu_of(gen_pids),
                   cpu_seconds(pub_pid), machine_busy()[0])

    def __sub__(self, other: "CpuSnapshot") -> "CpuSnapshot":
        return CpuSnapshot(self.servers - other.servers, self.redis - other.redis,
                           self.generator - other.generator, self.publisher - other.publisher,
                           self.machine - other.machine)


def run_system(name: str, args: argparse.Namespace, procs: Processes,
               deployment: Deployment, workdir: Path) -> Row:
    # Spawned, not forked: a load process holds no copy of the orchestrator's pipe ends, so it
    # sees the pipe close and exits if the orchestrator dies.
    mp = multiprocessing.get_context("spawn")
    flush_redis(deployment)
    system = System(name, deployment.url, workdir, args.profile)
    redis_pids = deployment.pids()
    system.start(procs)
    row = Row(TITLES[name])
    try:
        time.sleep(1.0)
        rss_before = sum(rss_bytes(pid) for pid in system.pids())
        load, loaders, gen_pids = connect_viewers(system, args, procs, mp)
        system.check_alive()
        idle_cpu = cpu_of(system.pids())
        time.sleep(args.settle)
        idle_cpu = cpu_of(system.pids()) - idle_cpu
        rss_idle = sum(rss_bytes(pid) for pid in system.pids())
        row.viewers = args.viewers
        row.kb_per_viewer = (rss_idle - rss_before) / args.viewers / 1024
        publisher, pub_pipe = start_publisher(system, procs, mp)

        # Latencies count for messages intended within the window; deliveries and CPU are
        # counted between marks half a message period later, so that no mark races a message.
        t0 = time.monotonic() + 1.0
        window = (t0 + args.warmup, t0 + args.warmup + args.duration)
        marks = [t + 0.5 / args.rate for t in window]
        total = round(args.rate * (args.warmup + args.duration)) + 1  # one on the end mark
        for pipe in loaders:
            pipe.send(("go", {"marks": marks}))
        pub_pipe.send(("go", {"t0": t0, "total": total, "rate": args.rate}))
        sleep_until(marks[0])
        cpu0 = CpuSnapshot.take(system, redis_pids, gen_pids, publisher.pid)
        shards0 = [cpu_seconds(pid) for pid in redis_pids]
        calls0 = redis_calls(deployment)
        sleep_until(marks[1])
        cpu = CpuSnapshot.take(system, redis_pids, gen_pids, publisher.pid) - cpu0
        shards = [cpu_seconds(pid) - before for pid, before in zip(redis_pids, shards0)]
        calls1 = redis_calls(deployment)
        system.check_alive()

        done = expect(pub_pipe, "done", args.duration + 60, "publisher")
        for pipe in loaders:
            pipe.send(("finish", {"sent": done["sent"], "rejected": done["rejected"],
                                  "drain": args.drain, "window": window}))
        results = [expect(pipe, "result", args.drain + 120, "load process") for pipe in loaders]
        system.check_alive()
        for pipe in [*loaders, pub_pipe]:
            pipe.send(("close", None))
        procs.stop(load)
        procs.stop(publisher)
        for pipe in [*loaders, pub_pipe]:
            pipe.close()
    finally:
        system.stop(procs)
    summarize(row, args, cpu, done, results,
              drained=max(r["drained_at"] for r in results) - marks[1])
    calls = {c: n - calls0.get(c, 0) for c, n in calls1.items() if n > calls0.get(c, 0)}
    calls.pop("info", None)  # ours
    per_message = ", ".join(f"{c} {n / (args.rate * args.duration):.2f}"
                            for c, n in sorted(calls.items(), key=lambda kv: -kv[1])[:8])
    row.notes.append(f"Redis commands per chat message in the window: {per_message or 'none'}")
    if len(shards) > 1:
        row.notes.append("Redis CPU per shard primary in the window: " + ", ".join(
            f"{seconds / args.duration:.0%}" for seconds in shards) + " of a core")
    row.notes.insert(0, f"idle: servers {idle_cpu / args.settle:.1%} of a core with every "
                        f"viewer connected and no chat ({args.settle:g}s)")
    return row


def summarize(row: Row, args: argparse.Namespace, cpu: CpuSnapshot, done: dict,
              results: list[dict], drained: float) -> None:
    delivered = sum(r["counts_at_marks"][1] - r["counts_at_marks"][0] for r in results)
    latencies = sorted(lat / 1000 for r in results for lat in r["latencies_us"])
    row.deliveries_per_s = delivered / args.duration
    row.p50, row.p99, row.p999 = (percentile(latencies, p) for p in (50, 99, 99.9))
    if delivered:
        row.cpu_per_m = cpu.servers / delivered * 1e6
        row.redis_per_m = cpu.redis / delivered * 1e6
    row.lost = sum(r["lost"] for r in results)
    row.dups = sum(r["dups"] for r in results)
    row.late = sum(r["late"] for r in results)
    row.dropped = sum(r["dropped"] for r in results)

    def share(seconds: float) -> str:
        return f"{seconds / args.duration:.0%}"

    ours = cpu.servers + cpu.redis + cpu.generator + cpu.publisher
    row.notes.append(
        f"CPU in the window: servers {share(cpu.servers)} of a core, Redis {share(cpu.redis)}, "
        f"load generator {share(cpu.generator)} + publisher {share(cpu.publisher)}; "
        f"the rest of the machine (kernel, other tenants) {share(max(0.0, cpu.machine - ours))}"
    )
    total_bytes = sum(r["bytes"] for r in results)
    total_delivered = sum(r["delivered"] for r in results)
    row.notes.append(
        f"{len(latencies)} latency samples; {total_bytes / max(1, total_delivered):.0f} bytes "
        f"read per delivery; publisher at most {done['max_late_ms']:.0f} ms behind schedule; "
        f"all delivered {max(0.0, drained):.1f}s after the window"
    )
    if args.verbose:
        row.notes.append("load children (reads, rounds): " + ", ".join(
            f"({r['reads']}, {r['rounds']})" for r in results))
    if done["errors"] or done["unacked"]:
        row.notes.append(f"publisher: errors {done['errors']}, unanswered {done['unacked']}")
    irregular = sum((r["irregular"] for r in results), collections.Counter())
    if irregular:
        row.notes.append("irregular arrivals (viewers): " + "; ".join(
            f"{event} ({n})" for event, n in irregular.most_common(4)))
    incomplete = sum(r["incomplete_viewers"] for r in results)
    if incomplete:
        row.notes.append(f"{incomplete} viewers still missing messages after {args.drain:g}s")


def print_profile(path: Path, top: int = 25) -> None:
    import pstats

    if not path.exists():
        print(f"(no profile written at {path})")
        return
    print(f"\nProfile of liveroom instance 0 (cProfile slows it: its row above is not "
          f"comparable), top {top} by own time:")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(top)


# --- report -----------------------------------------------------------------------------------
def fmt(value: float, digits: int = 1) -> str:
    if value != value:  # nan
        return "-"
    return f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    head = ("| system | viewers | deliv/s | p50 ms | p99 ms | p99.9 ms | CPU s/M | Redis s/M "
            "| KB/viewer | lost | dup | ooo | dropped |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r.system} | {r.viewers:,} | {r.deliveries_per_s:,.0f} | {fmt(r.p50)} | "
            f"{fmt(r.p99)} | {fmt(r.p999)} | {fmt(r.cpu_per_m)} | {fmt(r.redis_per_m)} | "
            f"{fmt(r.kb_per_viewer)} | {r.lost} | {r.dups} | {r.late} | {r.dropped} |"
        )
    return "\n".join(lines)


def verdicts(rows: dict[str, Row]) -> list[str]:
    lr = rows.get("liveroom")
    if lr is None:
        return []
    out = []
    ok = lr.lost == lr.dups == lr.late == lr.dropped == 0
    out.append(f"[{'met' if ok else 'MISSED'}] liveroom lost nothing and kept order "
               f"(lost {lr.lost}, dup {lr.dups}, ooo {lr.late}, dropped {lr.dropped})")
    lean = rows.get("lean relay")
    if lean is not None:
        ratio = lr.cpu_per_m / lean.cpu_per_m
        out.append(f"[{'met' if ratio <= 1 else 'MISSED'}] CPU per million deliveries "
                   f"{fmt(lr.cpu_per_m)} s vs lean relay {fmt(lean.cpu_per_m)} s: "
                   f"{ratio:.2f}x (target <= 1x)")
        ratio = lr.p99 / lean.p99
        out.append(f"[{'met' if ratio <= 1.5 else 'MISSED'}] p99 {fmt(lr.p99)} ms vs lean relay "
                   f"{fmt(lean.p99)} ms: {ratio:.2f}x (target <= 1.5x)")
    sio = rows.get("python-socketio")
    if sio is not None:
        ratio = sio.cpu_per_m / lr.cpu_per_m
        out.append(f"[{'met' if ratio >= 4 else 'MISSED'}] deliveries per CPU second "
                   f"{1e6 / lr.cpu_per_m:,.0f} vs python-socketio {1e6 / sio.cpu_per_m:,.0f}: "
                   f"{ratio:.1f}x (target >= 4x)")
    out.append(f"[{'met' if lr.kb_per_viewer < 30 else 'MISSED'}] memory per idle viewer "
               f"{fmt(lr.kb_per_viewer)} KB (target < 30 KB)")
    return out


def source_version() -> str:
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
            text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "(not a git checkout)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Chat fan-out: liveroom vs a lean aiohttp relay vs python-socketio.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--viewers", type=int, default=2000, help="viewers, split over 2 instances")
    parser.add_argument("--rate", type=float, default=5.0, help="chat messages per second")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of publishing before the window")
    parser.add_argument("--drain", type=float, default=60.0,
                        help="seconds to wait for the tail after publishing stops")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated subset of " + ", ".join(SYSTEMS))
    parser.add_argument("--sample", type=int, default=50,
                        help="viewers that time every message (in a load process of their own)")
    parser.add_argument("--loaders", type=int, default=1,
                        help="load processes for the other viewers")
    parser.add_argument("--read-interval", type=float, default=0.1,
                        help="seconds the bulk load processes sleep between rounds of reads")
    parser.add_argument("--connect-concurrency", type=int, default=100,
                        help="viewer connections opening at once")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds with every viewer connected and no chat, before memory "
                        "is measured (idle CPU is measured over them)")
    parser.add_argument("--verbose", action="store_true",
                        help="also report the load children's socket reads and loop rounds")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="run liveroom instance 0 under cProfile, write DIR/liveroom-0.prof "
                        "and print its top functions (its numbers are then not comparable)")
    parser.add_argument("--redis", choices=("single", "sentinel", "cluster"), default="single",
                        help="one redis-server, Redis behind Sentinel, or a Redis Cluster "
                        "(liveroom only)")
    args = parser.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if args.redis != "single":
        if set(args.systems) - {"liveroom"} and "--systems" in (argv or sys.argv):
            parser.error("only liveroom runs on --redis sentinel or cluster")
        args.systems = ["liveroom"]
    unknown = set(args.systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown system(s) {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(SYSTEMS)}")
    if args.sample > args.viewers:
        args.sample = args.viewers
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fd_limit = raise_fd_limit()
    if fd_limit < args.viewers + 200:
        raise SystemExit(f"open-files hard limit {fd_limit} is too low for {args.viewers} "
                         f"viewers; raise it (ulimit -Hn) and try again")
    command = shlex.join(["python", *sys.argv]) if argv is None else shlex.join(argv)
    print(f"$ {command}")
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, liveroom {source_version()}; "
          f"{args.viewers:,} viewers "
          f"on {INSTANCES} instances, Redis {args.redis}, {args.rate:g} msg/s "
          f"(offered {args.viewers * args.rate:,.0f} deliveries/s), "
          f"{args.warmup:g}s warm-up + {args.duration:g}s measured\n", flush=True)

    procs = Processes()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    rows: dict[str, Row] = {}
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        workdir = Path(tmp)
        try:
            deployment, cleanup = start_deployment(args.redis, procs, workdir)
            try:
                for name in args.systems:
                    print(f"... {TITLES[name]}", flush=True)
                    rows[TITLES[name]] = run_system(name, args, procs, deployment, workdir)
            finally:
                cleanup()
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        finally:
            procs.stop_all()
    print()
    print(table(list(rows.values())))
    print()
    for name, row in rows.items():
        for note in row.notes:
            print(f"{name}: {note}")
    lines = verdicts(rows)
    if lines:
        print()
        print("\n".join(lines))
    if args.profile and "liveroom" in args.systems:
        print_profile(args.profile / "liveroom-0.prof")
    return 0


if __name__ == "__main__":
    sys.exit(main())
