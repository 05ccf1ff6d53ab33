"""A flash sale through the whole server: N buyers on two instances, one Redis, stock S.

    python bench/flashsale.py --buyers 5000 --stock 500
    python bench/flashsale.py --redis sentinel --min-replicas 0,1,0,1

--redis picks what the instances share: `single` (one redis-server), `sentinel` (a primary, two
replicas and three sentinels) or `cluster` (three primaries, three replicas), the last two
started as the tests start them (tests/ha/servers.py). --min-replicas sets
LIVEROOM_REDIS_MIN_REPLICAS: a buy is answered once its order is on that many replicas (WAIT).
A list of values runs one sale per value, in that order, on the same Redis (flushed between
them, with instances started afresh): compare them within the run. --sequential N then times N
buys one at a time through the engine itself, alternating between an engine with each of the
values, so that the cost of waiting for replicas shows apart from the crowd's queueing.

The bench starts a private Redis (append-only, fsync every second) and two `liveroom serve`
processes, creates a room, a product and a sale, connects the buyers (split evenly between the
instances, driven from --loaders processes of their own), and when the sale opens every buyer
presses buy at the same moment; --replays of them then send the same buy again (a retry).
Latency is measured per buy from the moment it is sent to the moment its answer is read.

Then it measures Redis's own rate for the very same Lua step (the buy script, EVALSHA, one
command per round trip, no pipelining) with redis-benchmark against the same Redis, so the
server's throughput reads as a ratio.

Printed: buys answered per second (accepted and rejected), buy latency p50/p99/max, units sold,
oversold units (sold beyond the stock: must be 0), duplicate orders (a replay answered with a
new order, or two orders for one key: must be 0), unanswered buys, and the ratio to Redis.
Compare within one run only: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))

from common import cpu_seconds, free_port, percentile, raise_fd_limit  # noqa: E402

SECRET = "flashsale-bench-secret-0123456789abcdefghijkl"
ROOM = "bench"
BENCHMARK_ROOM = "rb"  # redis-benchmark's own keys
INSTANCES = 2


# --- servers -------------------------------------------------------------------------------
def start_redis(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if ping.stdout.strip() == b"PONG":
            return proc, port
        time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def start_deployment(kind: str, workdir: Path):
    """(the instances' Redis URL, the port of the server redis-benchmark measures, the
    processes to stop, the primaries' ports, a cleanup) for --redis `kind`."""
    if kind == "single":
        proc, port = start_redis(workdir)
        return f"redis://127.0.0.1:{port}/0", port, [proc], lambda: [port], lambda: None
    from tests.ha.servers import Cluster, SentinelGroup

    if kind == "sentinel":
        group = SentinelGroup().start()
        return (group.url, group.primary().port, [], lambda: [group.primary().port],
                group.cleanup)
    cluster = Cluster().start()
    # redis-benchmark goes to the shard that holds its room's keys
    return (cluster.url, cluster.node_of(f"{{{BENCHMARK_ROOM}}}").port, [],
            lambda: [n.port for n in cluster.primaries()], cluster.cleanup)


def flush(ports: list[int]) -> None:
    for port in ports:
        subprocess.run(["redis-cli", "-p", str(port), "flushall"], capture_output=True,
                       check=True)


def start_liveroom(redis_url: str, workdir: Path, min_replicas: int
                   ) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = workdir / f"liveroom-{port}.log"
    env = {**os.environ, "LIVEROOM_PORT": str(port), "LIVEROOM_SECRET": SECRET,
           "LIVEROOM_CONNECTIONS_PER_ADDRESS": "0",  # the whole crowd is 127.0.0.1
           "LIVEROOM_REDIS_URL": redis_url,
           "LIVEROOM_REDIS_MIN_REPLICAS": str(min_replicas),
           "LIVEROOM_DATA_DIR": str(workdir / f"data-{port}"), "LIVEROOM_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "liveroom.server", "serve"], env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"liveroom exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).read()
            return proc, url, log
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"liveroom did not start:\n{log.read_text()}")


def api(url: str, method: str, path: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        url + path, method=method, data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def set_up_sale(url: str, stock: int, limit: int, starts_in: int) -> dict:
    from liveroom.domain import auth

    admin = auth.mint(SECRET, room="*", role="admin", user_id="operator")
    api(url, "POST", "/api/rooms", admin, {"id": ROOM, "title": "Bench", "country": "Thailand",
                                           "country_code": "TH"})
    api(url, "POST", f"/api/rooms/{ROOM}/products", admin, {
        "id": "durian", "name": "Durian", "price": "99", "currency": "CNY", "stock": stock})
    return api(url, "POST", f"/api/rooms/{ROOM}/sales", admin, {
        "product_id": "durian", "stock": stock, "per_user_limit": limit, "duration": 600,
        "starts_in": starts_in})


# --- the buyers (in loader processes) -----------------------------------------------------
def loader_main(urls: list[str], buyers: range, quantity: int, replays: int, ready, go,
                out) -> None:
    """One load process: connect its buyers, signal ready, wait for the sale on `go`, buy,
    report."""
    raise_fd_limit()
    result = asyncio.run(_load(urls, buyers, quantity, replays, ready, go))
    out.put(result)


async def _load(urls, buyers, quantity, replays, ready, go) -> dict:
    import aiohttp

    from liveroom.domain import auth

    connector = aiohttp.TCPConnector(limit=0)
    answers: dict[int, list] = {}
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=connector) as session:
        gate = asyncio.Semaphore(100)

        async def connect(i: int):
            token = auth.mint(SECRET, room=ROOM, role="viewer", user_id=f"b{i}", name=f"B{i}")
            async with gate:
                ws = await session.ws_connect(
                    f"{urls[i % len(urls)]}/ws/rooms/{ROOM}?access_token={token}",
                    max_msg_size=0, heartbeat=None)
                await ws.receive()  # welcome
                await ws.receive()  # snapshot
            return ws

        sockets = dict(zip(buyers, await asyncio.gather(*(connect(i) for i in buyers))))
        ready.put(len(sockets))
        sale = await asyncio.get_running_loop().run_in_executor(None, go.get)

        async def buy(i: int, ws, attempt: int) -> None:
            frame = json.dumps({"id": attempt, "cmd": "sale.buy", "sale_id": sale["id"],
                                "quantity": quantity, "idempotency_key": f"k{i}"})
            sent = time.monotonic()
            await ws.send_str(frame)
            while True:
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    answers.setdefault(i, []).append(None)
                    return
                reply = json.loads(msg.data)
                if reply.get("id") == attempt:
                    latencies.append(time.monotonic() - sent)
                    answers.setdefault(i, []).append(
                        (reply["type"], reply.get("code"), (reply.get("order") or {}).get("id"),
                         (reply.get("order") or {}).get("quantity", 0), reply.get("created")))
                    return

        started = time.monotonic()
        await asyncio.gather(*(buy(i, ws, 1) for i, ws in sockets.items()))
        first_round = time.monotonic() - started
        replayed = list(sockets.items())[:replays]
        await asyncio.gather(*(buy(i, ws, 2) for i, ws in replayed))
        await asyncio.gather(*(ws.close() for ws in sockets.values()))
    return {"answers": answers, "latencies": latencies, "started": started,
            "seconds": first_round}


# --- redis-benchmark of the same Lua step --------------------------------------------------
def redis_rate(redis_port: int, requests: int) -> float:
    """EVALSHA of the buy script, one command per round trip, on a sale with unbounded stock
    so that every call does the full write path."""
    import redis

    from liveroom.domain.codec import pack
    from liveroom.engine.redis_keys import RoomKeys
    from liveroom.engine.redis_scripts import _source

    client = redis.Redis(port=redis_port)
    sha = client.script_load(_source("prelude") + "\n" + _source("sale_buy"))
    k = RoomKeys(BENCHMARK_ROOM)
    sale = {"id": "s", "starts_at": 1, "ends_at": 10**13, "per_user_limit": 10**9,
            "stock": 10**9}
    client.hset(k.sales, "s", pack(sale))
    client.hset(k.sale_stock, "s", str(10**9))
    client.set(k.record, pack({"id": BENCHMARK_ROOM}))  # a deleted room sells nothing
    client.close()
    # A realistic order record (a command-line argument cannot hold a NUL byte, and this
    # one has none).
    order = pack({"id": "ord_0123456789abcdef", "sale_id": "s", "room": "rb",
                  "product_id": "durian", "product_name": "Durian", "user_id": "u",
                  "user_name": "Buyer", "quantity": 1, "unit_price": "99.00",
                  "currency": "CNY", "total": "99.00", "status": "reserved",
                  "idempotency_key": "key"})
    assert b"\0" not in order
    keys = [*k.stream, k.sales, k.sale_stock, k.sale_flags, k.sale_buyers, k.sale_idem,
            k.orders, k.order_index, k.user_orders("u__rand_int__"), k.sale_orders("s"),
            k.order_expiry, *k.outbox_keys, k.record]
    args = [k.channel, "1000", "e", "s", "u__rand_int__", "key__rand_int__", "1",
            "o__rand_int__", order, "1795872201234", "1795873101234"]
    command = ["redis-benchmark", "-p", str(redis_port), "-n", str(requests), "-c", "50",
               "-P", "1", "-r", "100000000", "-q", "EVALSHA", sha, str(len(keys)), *keys,
               *args]
    command = [a if isinstance(a, bytes) else a.encode() for a in command]
    output = subprocess.run(command, capture_output=True).stdout.decode("latin-1")
    match = re.search(r"([\d.]+) requests per second", output.replace(",", ""))
    if not match:
        raise SystemExit(f"redis-benchmark printed nothing usable:\n{output}")
    return float(match.group(1))


# --- the run -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument("--stock", type=int, default=500)
    parser.add_argument("--limit", type=int, default=2, help="per-user limit")
    parser.add_argument("--quantity", type=int, default=1, help="units per buy")
    parser.add_argument("--replays", type=int, default=500, help="buyers who retry once")
    parser.add_argument("--loaders", type=int, default=2, help="load-generator processes")
    parser.add_argument("--redis-requests", type=int, default=100_000)
    parser.add_argument("--redis", choices=("single", "sentinel", "cluster"), default="single")
    parser.add_argument("--min-replicas", default="0",
                        help="LIVEROOM_REDIS_MIN_REPLICAS (sentinel or cluster); a list such "
                        "as 0,1,0,1 runs one sale per value")
    parser.add_argument("--sequential", type=int, default=0,
                        help="then time this many buys one at a time through the engine")
    args = parser.parse_args()
    rounds = [int(v) for v in args.min_replicas.split(",")]
    raise_fd_limit()
    print("$ python bench/flashsale.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]))

    workdir = Path(tempfile.mkdtemp(prefix="flashsale-"))
    procs: list[subprocess.Popen] = []
    cleanup = None
    try:
        redis_url, redis_port, procs, primaries, cleanup = start_deployment(args.redis,
                                                                              workdir)
        measured = []
        for min_replicas in rounds:
            flush(primaries())
            measured.append((min_replicas, *one_sale(args, redis_url, workdir, min_replicas)))
        flush(primaries())
        latencies = asyncio.run(sequential(redis_url, sorted(set(rounds)), args.sequential))
        rate = redis_rate(redis_port, args.redis_requests)
        for min_replicas, connected, results, cpu, url, sale in measured:
            args.min_replicas = min_replicas
            report(args, connected, results, cpu, rate, url, sale)
        if latencies:
            print(f"one buy at a time through the engine ({args.sequential} buys, "
                  "alternating):")
            for min_replicas, times in latencies.items():
                times.sort()
                print(f"  LIVEROOM_REDIS_MIN_REPLICAS={min_replicas}: p50 "
                      f"{percentile(times, 50) * 1000:.2f} ms, p99 "
                      f"{percentile(times, 99) * 1000:.2f} ms")
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        if cleanup is not None:
            cleanup()


async def sequential(redis_url: str, values: list[int], n: int) -> dict[int, list[float]]:
    """Seconds per buy, one at a time, for an engine with each LIVEROOM_REDIS_MIN_REPLICAS."""
    if n <= 0:
        return {}
    from liveroom.config import Settings
    from liveroom.domain.models import product_from_input, room_from_input
    from liveroom.domain.sales import new_order, sale_from_input
    from liveroom.engine import create_engine

    class _Quiet:
        def on_event(self, *_args): pass
        def on_reset(self, *_args): pass

    engines = {v: create_engine(Settings(secret=SECRET, redis_url=redis_url,
                                         redis_min_replicas=v)) for v in values}
    for engine in engines.values():
        engine.broker.attach(_Quiet())
        await engine.start()
    try:
        store, sales = engines[values[0]].store, engines[values[0]].sales
        await store.create_room(room_from_input({"id": "seq", "title": "Seq",
                                                 "country": "Thailand", "country_code": "TH"}))
        product = product_from_input({"id": "durian", "name": "Durian", "price": "99",
                                      "currency": "CNY", "stock": n})
        await store.put_product("seq", product, create=True)
        sale = sale_from_input({"stock": n, "per_user_limit": 1, "starts_in": 0,
                                "duration": 3600}, product, room="seq", by="bench")
        await sales.create_sale("seq", sale)
        times: dict[int, list[float]] = {v: [] for v in values}
        for i in range(n):
            v = values[i % len(values)]
            order = new_order(sale, user_id=f"u{i}", user_name="U", quantity=1,
                              idempotency_key=f"k{i}", reservation_ttl=900)
            start = time.perf_counter()
            await engines[v].sales.buy("seq", sale["id"], order)
            times[v].append(time.perf_counter() - start)
        return times
    finally:
        for engine in engines.values():
            await engine.close()


def one_sale(args, redis_url: str, workdir: Path, min_replicas: int):
    """Two fresh instances, the crowd, one sale: (connected, results, CPU, a URL, the sale)."""
    servers = [start_liveroom(redis_url, workdir, min_replicas) for _ in range(INSTANCES)]
    try:
        urls = [u for _p, u, _l in servers]
        sale = set_up_sale(urls[0], args.stock, args.limit, starts_in=3600)
        ctx = multiprocessing.get_context("spawn")
        ready, out = ctx.Queue(), ctx.Queue()
        gos = [ctx.Queue() for _ in range(args.loaders)]
        shares = [range(i, args.buyers, args.loaders) for i in range(args.loaders)]
        loaders = [ctx.Process(target=loader_main, args=(urls, share, args.quantity,
                                                         args.replays // args.loaders, ready,
                                                         go, out))
                   for share, go in zip(shares, gos)]
        for loader in loaders:
            loader.start()
        connected = sum(ready.get(timeout=300) for _ in loaders)
        # Open the sale now that everyone is in, then let the crowd press buy.
        sale = reopen_now(urls[0], sale)
        cpu_before = sum(cpu_seconds(p.pid) for p, _u, _l in servers)
        for go in gos:
            go.put(sale)
        results = [out.get(timeout=600) for _ in loaders]
        cpu = sum(cpu_seconds(p.pid) for p, _u, _l in servers) - cpu_before
        for loader in loaders:
            loader.join()
        # The sale as stored, read now: the report comes after the instances are gone.
        with urllib.request.urlopen(f"{urls[0]}/api/rooms/{ROOM}/sales/{sale['id']}") as r:
            stored = json.loads(r.read())
        return connected, results, cpu, urls[0], stored
    finally:
        for proc, _u, _l in servers:
            proc.terminate()
        for proc, _u, _l in servers:
            proc.wait(15)


def reopen_now(url: str, scheduled: dict) -> dict:
    """End the placeholder sale (it kept the room warm while buyers connected) and open the
    real one, live at once."""
    from liveroom.domain import auth

    admin = auth.mint(SECRET, room="*", role="admin", user_id="operator")
    api(url, "POST", f"/api/rooms/{ROOM}/sales/{scheduled['id']}/cancel", admin, {})
    return api(url, "POST", f"/api/rooms/{ROOM}/sales", admin, {
        "product_id": "durian", "stock": scheduled["stock"],
        "per_user_limit": scheduled["per_user_limit"], "duration": 600, "starts_in": 0})


def report(args, connected, results, cpu, redis_per_second, url, stored) -> None:
    latencies = sorted(x for r in results for x in r["latencies"])
    answers = {i: a for r in results for i, a in r["answers"].items()}
    first = [a[0] for a in answers.values()]
    accepted = [a for a in first if a and a[0] == "ack"]
    rejected = [a for a in first if a and a[0] == "error"]
    unanswered = args.buyers - len(accepted) - len(rejected)
    sold = sum(a[3] for a in accepted)
    # Oversold by what buyers were told, or by what the server holds: both must be 0.
    oversold = max(0, sold - args.stock, stored["sold"] - args.stock,
                   -stored["remaining"])
    duplicates = sum(1 for a in answers.values() if len(a) > 1 and a[0] and a[1]
                     and a[0][0] == "ack" and (a[1][2] != a[0][2] or a[1][4]))
    order_ids = [a[2] for a in accepted]
    duplicates += len(order_ids) - len(set(order_ids))
    seconds = max(r["seconds"] for r in results)
    answered = len(accepted) + len(rejected)
    per_second = answered / seconds
    codes: dict[str, int] = {}
    for a in rejected:
        codes[a[1]] = codes.get(a[1], 0) + 1
    print(f"Redis: {args.redis}, LIVEROOM_REDIS_MIN_REPLICAS={args.min_replicas}")
    print(f"buyers {args.buyers} (connected {connected}) on {INSTANCES} instances, stock "
          f"{args.stock}, limit {args.limit}, {args.quantity} unit(s) per buy, "
          f"{args.replays} replays")
    header = ("buys/s", "accepted/s", "rejected/s", "p50 ms", "p99 ms", "max ms", "sold",
              "oversold", "dup orders", "unanswered", "CPU s", "Redis EVALSHA/s", "ratio")
    row = (f"{per_second:,.0f}", f"{len(accepted) / seconds:,.0f}",
           f"{len(rejected) / seconds:,.0f}", f"{percentile(latencies, 50) * 1000:.0f}",
           f"{percentile(latencies, 99) * 1000:.0f}", f"{latencies[-1] * 1000:.0f}",
           str(sold), str(oversold), str(duplicates), str(unanswered),
           f"{cpu:.1f}", f"{redis_per_second:,.0f}", f"{per_second / redis_per_second:.2f}")
    widths = [max(len(h), len(v)) for h, v in zip(header, row)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    print("  ".join(v.rjust(w) for v, w in zip(row, widths)))
    print(f"refusals: {codes}; first buy to last answer {seconds:.2f} s")


if __name__ == "__main__":
    main()
