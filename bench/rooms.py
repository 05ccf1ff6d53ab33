"""Many rooms at once: chat in R rooms on two instances, on one Redis or on a Redis Cluster.

    python bench/rooms.py --redis single --rooms 200
    python bench/rooms.py --redis cluster --rooms 200

The bench starts the Redis (`single`: one redis-server; `cluster`: three primaries with a
replica each; `sentinel`: a primary, two replicas, three sentinels; as the tests start them,
tests/ha/servers.py), two `liveroom serve` processes, creates R rooms, connects V viewers per
room (alternating between the instances) and one moderator per room, who chats --rate times a
second on the instance the room's index picks. After --warmup seconds it measures --duration
seconds: chat deliveries, the servers' CPU per million deliveries, and each Redis primary's CPU
(per shard on a cluster), then checks that every viewer got every message.

Compare within one machine and one sitting: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))

from common import cpu_seconds, raise_fd_limit  # noqa: E402
from flashsale import SECRET, api, start_liveroom  # noqa: E402

from tests.ha.servers import Cluster, Node, SentinelGroup  # noqa: E402


def start_redis(kind: str, root: Path):
    """(URL, () -> the primaries' pids, cleanup)."""
    if kind == "single":
        node = Node(root).start()
        return f"redis://127.0.0.1:{node.port}/0", lambda: [node.pid()], node.stop
    if kind == "sentinel":
        group = SentinelGroup().start()
        return group.url, lambda: [group.primary().pid()], group.cleanup
    cluster = Cluster().start()
    return cluster.url, lambda: [n.pid() for n in cluster.primaries()], cluster.cleanup


async def viewer(http, url: str, room: str, user: str, counts: dict, ready) -> None:
    from liveroom.domain import auth

    token = auth.mint(SECRET, room=room, role="viewer", user_id=user, name=user)
    async with http.ws_connect(f"{url}/ws/rooms/{room}?access_token={token}",
                               max_msg_size=0) as ws:
        while '"snapshot"' not in (await ws.receive()).data:  # in the room from here on
            pass
        ready.release()
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            if '"chat.message"' in msg.data:
                counts[user] = counts.get(user, 0) + msg.data.count('"chat.message"')


async def speaker(http, url: str, room: str, rate: float, stop: asyncio.Event,
                  sent: dict) -> None:
    from liveroom.domain import auth

    token = auth.mint(SECRET, room=room, role="moderator", user_id=f"mod-{room}", name="Mod")
    async with http.ws_connect(f"{url}/ws/rooms/{room}?access_token={token}") as ws:
        async def acks() -> None:  # what the room accepted is what viewers must get
            async for msg in ws:
                if (msg.type == aiohttp.WSMsgType.TEXT
                        and json.loads(msg.data).get("type") == "ack"):
                    sent[room] = sent.get(room, 0) + 1

        reader = asyncio.create_task(acks())
        i = 0
        next_at = time.monotonic()
        while not stop.is_set():
            i += 1
            await ws.send_str(json.dumps({"id": i, "cmd": "chat.send", "text": f"m{i}"}))
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.sleep(1.0)  # the last acks
        reader.cancel()


async def run(args, urls: list[str], redis_pids, server_pids) -> None:
    rooms = [f"room{i}" for i in range(args.rooms)]
    counts: dict[str, int] = {}
    sent: dict[str, int] = {}
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        ready = asyncio.Semaphore(0)
        viewers = [asyncio.create_task(viewer(http, urls[(r + v) % 2], room,
                                              f"{room}-v{v}", counts, ready))
                   for r, room in enumerate(rooms) for v in range(args.viewers)]
        for _ in viewers:
            await ready.acquire()
        speakers = [asyncio.create_task(speaker(http, urls[r % 2], room, args.rate, stop,
                                                sent))
                    for r, room in enumerate(rooms)]
        await asyncio.sleep(args.warmup)
        before = (sum(counts.values()), [cpu_seconds(p) for p in redis_pids()],
                  sum(cpu_seconds(p) for p in server_pids))
        await asyncio.sleep(args.duration)
        after = (sum(counts.values()), [cpu_seconds(p) for p in redis_pids()],
                 sum(cpu_seconds(p) for p in server_pids))
        stop.set()
        await asyncio.gather(*speakers, return_exceptions=True)
        expected = sum(sent.values()) * args.viewers
        deadline = time.monotonic() + 30
        while sum(counts.values()) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        for task in viewers:
            task.cancel()
        await asyncio.gather(*viewers, return_exceptions=True)
    if args.verbose:
        print("sent", sent)
        print("counts", counts)
    delivered = after[0] - before[0]
    redis_cpu = [b - a for a, b in zip(before[1], after[1])]
    servers = after[2] - before[2]
    print(f"{args.rooms} rooms x {args.viewers} viewers on 2 instances, {args.rate:g} msg/s "
          f"per room, Redis {args.redis}; {args.duration:g}s measured")
    print("| Redis | deliv/s | servers CPU s/M | Redis CPU (per primary, % of a core) | "
          "lost |")
    print("|---|---|---|---|---|")
    shares = ", ".join(f"{c / args.duration:.0%}" for c in redis_cpu)
    print(f"| {args.redis} | {delivered / args.duration:,.0f} | "
          f"{servers / max(delivered, 1) * 1e6:.1f} | {shares} | "
          f"{max(0, expected - sum(counts.values()))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", choices=("single", "sentinel", "cluster"), default="single")
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--viewers", type=int, default=5, help="viewers per room")
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per room")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    raise_fd_limit()
    print("$ python bench/rooms.py " + shlex.join(sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="rooms-") as tmp:
        workdir = Path(tmp)
        url, redis_pids, cleanup = start_redis(args.redis, workdir / "redis")
        servers = []
        try:
            servers = [start_liveroom(url, workdir, 0) for _ in range(2)]
            urls = [u for _p, u, _l in servers]
            from liveroom.domain import auth

            admin = auth.mint(SECRET, room="*", role="admin", user_id="operator")
            for i in range(args.rooms):
                api(urls[0], "POST", "/api/rooms", admin, {
                    "id": f"room{i}", "title": f"Room {i}", "country": "Thailand",
                    "country_code": "TH"})
            asyncio.run(run(args, urls, redis_pids, [p.pid for p, _u, _l in servers]))
        finally:
            for proc, _u, _l in servers:
                proc.terminate()
                proc.wait(15)
            cleanup()


if __name__ == "__main__":
    main()
