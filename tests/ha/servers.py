"""Real highly available Redis deployments on free ports, for the tests and the benches: a primary
with replicas watched by three sentinels, and a Redis Cluster of primaries and replicas.

Everything runs Debian's `redis-server` and `redis-sentinel` (and `redis-cli --cluster create`)
from a temporary directory that `cleanup()` removes. Timeouts are short (a node is down after
1 s, a failover may take 3 s) so a failover is over in a few seconds. Nothing here imports
liveroom or pytest: bench/ uses it too.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

SERVICE = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
CLUSTER_NODE_TIMEOUT_MS = 1000


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (apt-get install redis-server "
                           "redis-sentinel redis-tools; .ci/install-test-deps does it)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port() -> int:
    """A free port whose cluster bus port (the port + 10000) is free and valid too."""
    while True:
        port = free_port()
        if port + 10000 < 65536:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (redis.RedisError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Node:
    """One redis-server (or redis-sentinel) process with a directory of its own."""

    def __init__(self, root: Path, *args: str, sentinel: bool = False) -> None:
        self.port = free_cluster_port() if "--cluster-enabled" in args else free_port()
        self.dir = root / str(self.port)
        self.dir.mkdir(parents=True)
        self.args = args
        self.sentinel = sentinel
        self.proc: subprocess.Popen | None = None

    def start(self) -> Node:
        common = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        if self.sentinel:
            conf = self.dir / "sentinel.conf"
            if not conf.exists():  # a sentinel rewrites its file with what it learns
                conf.write_text("\n".join(self.args) + "\n")
            command = [binary("redis-sentinel"), str(conf), *common]
        else:
            command = [binary("redis-server"), "--save", "", "--appendonly", "no",
                       "--logfile", str(self.dir / "log"), *common, *self.args]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: self.client().ping(), 10, f"redis on port {self.port}")
        return self

    def client(self, socket_timeout: float = 2) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=socket_timeout,
                           socket_connect_timeout=1)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: like a machine that lost power."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


class SentinelGroup:
    """A primary, `replicas` replicas and three sentinels (quorum two)."""

    def __init__(self, replicas: int = 2) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="liveroom-sentinel-"))
        self.nodes = [Node(self.root, "--enable-debug-command", "local")
                      for _ in range(replicas + 1)]
        self.sentinels: list[Node] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> SentinelGroup:
        first, *rest = self.nodes
        first.start()
        for node in rest:
            node.args = (*node.args, "--replicaof", "127.0.0.1", str(first.port))
            node.start()
        wait_for(lambda: first.client().info("replication")["connected_slaves"] == len(rest),
                 20, "the replicas to connect")
        for _ in range(3):
            self.sentinels.append(Node(self.root, *[
                "sentinel resolve-hostnames no",
                f"sentinel monitor {SERVICE} 127.0.0.1 {first.port} 2",
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {SERVICE} 2",
            ], sentinel=True).start())
        self.wait_settled()
        return self

    def primary(self) -> Node:
        """The node the sentinels name as primary."""
        host, port = self.sentinels[0].client().sentinel_get_master_addr_by_name(SERVICE)
        return next(n for n in self.nodes if n.port == int(port))

    def wait_settled(self, timeout: float = 30) -> Node:
        """Until every sentinel names one live primary that says it is one and every live
        replica follows it: the group is ready for a test (or the next failover)."""
        def settled() -> Node | None:
            ports = {int(s.client().sentinel_get_master_addr_by_name(SERVICE)[1])
                     for s in self.sentinels}
            if len(ports) != 1:
                return None
            primary = next(n for n in self.nodes if n.port in ports)
            if not primary.alive:
                return None
            info = primary.client().info("replication")
            live = sum(1 for n in self.nodes if n.alive) - 1
            if info["role"] != "master" or info["connected_slaves"] != live:
                return None
            states = [primary.client().info("replication")[f"slave{i}"]["state"]
                      for i in range(live)]
            if any(state != "online" for state in states):
                return None
            known = self.sentinels[0].client().sentinel_slaves(SERVICE)
            if sum(1 for r in known if not r["is_sdown"]) < live:
                return None
            return primary
        return wait_for(settled, timeout, "the sentinel group to settle")  # type: ignore

    def kill_primary(self) -> Node:
        primary = self.primary()
        primary.kill()
        return primary

    def wait_promoted(self, old: Node, timeout: float = 20) -> Node:
        """Until the sentinels name another primary, and it accepts writes."""
        def promoted() -> Node | None:
            node = self.primary()
            if node is old or node.client().info("replication")["role"] != "master":
                return None
            return node
        return wait_for(promoted, timeout, "a replica's promotion")  # type: ignore

    def revive(self, node: Node) -> None:
        """Start a killed node again; the sentinels make it a replica of the primary."""
        primary = self.primary()
        node.args = (*_without_replicaof(node.args), "--replicaof", "127.0.0.1",
                     str(primary.port))
        node.start()
        self.wait_settled()

    def cleanup(self) -> None:
        for node in [*self.sentinels, *self.nodes]:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _without_replicaof(args: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    skip = 0
    for arg in args:
        if skip:
            skip -= 1
            continue
        if arg == "--replicaof":
            skip = 2
            continue
        out.append(arg)
    return tuple(out)


class Cluster:
    """A Redis Cluster of `primaries` primaries with `replicas` replicas each."""

    def __init__(self, primaries: int = 3, replicas: int = 1) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="liveroom-cluster-"))
        self.replicas = replicas
        self.nodes = [Node(self.root, "--cluster-enabled", "yes",
                           "--cluster-node-timeout", str(CLUSTER_NODE_TIMEOUT_MS),
                           "--cluster-config-file", "nodes.conf",
                           "--cluster-replica-validity-factor", "0",
                           # While a failed shard's replica takes over, the others serve on
                           # (by default the whole cluster refuses commands meanwhile).
                           "--cluster-require-full-coverage", "no",
                           "--enable-debug-command", "local")
                      for _ in range(primaries * (replicas + 1))]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self) -> Cluster:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [binary("redis-cli"), "--cluster", "create",
             *(f"127.0.0.1:{n.port}" for n in self.nodes),
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        self.wait_settled()
        return self

    def slots(self) -> dict[int, Node]:
        """Slot -> the node serving it, as a live node sees it."""
        live = next(n for n in self.nodes if n.alive)
        owners: dict[int, Node] = {}
        for start, end, primary, *_replicas in live.client().execute_command("CLUSTER SLOTS"):
            node = next(n for n in self.nodes if n.port == int(primary[1]))
            for slot in range(int(start), int(end) + 1):
                owners[slot] = node
        return owners

    def primaries(self) -> list[Node]:
        return sorted({id(n): n for n in self.slots().values()}.values(), key=lambda n: n.port)

    def node_of(self, key: str) -> Node:
        live = next(n for n in self.nodes if n.alive)
        return self.slots()[int(live.client().cluster("KEYSLOT", key))]

    def wait_settled(self, timeout: float = 30) -> None:
        """Until every live node says the cluster is ok, all 16384 slots are served and every
        live replica is in sync with its primary (else a failover would lose its data)."""
        def ok() -> bool:
            for node in self.nodes:
                if node.alive:
                    info = node.client().cluster("INFO")
                    if (info["cluster_state"] != "ok"
                            or int(info["cluster_slots_ok"]) != 16384):
                        return False
                    replication = node.client().info("replication")
                    if (replication["role"] == "slave"
                            and replication["master_link_status"] != "up"):
                        return False
            return len(self.slots()) == 16384 and all(n.alive for n in self.primaries())
        wait_for(ok, timeout, "the cluster to be ok")

    def wait_promoted(self, old: Node, timeout: float = 20) -> None:
        """Until another node serves the slots `old` served."""
        def moved() -> bool:
            return old not in self.slots().values()
        wait_for(moved, timeout, "a replica to take over")
        self.wait_settled(timeout)

    def revive(self, node: Node) -> None:
        """Start a killed node again: it rejoins as a replica of the node that took over."""
        node.start()
        self.wait_settled()

    def cleanup(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)
