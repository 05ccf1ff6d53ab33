"""Real components for the tests: a Redis server, liveroom server processes, tokens."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from liveroom.domain import auth
from liveroom.domain.public_ids import public_user_id

SECRET = "test-secret-0123456789abcdef-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(room: str, role: str = "viewer", user: str | None = None, name: str | None = None,
          ttl: float = 3600) -> str:
    """A token; name defaults to the user id in title case, and "" means none at all."""
    user = user or f"{role}-user"
    name = name if name is not None else user.title()
    return auth.mint(SECRET, room=room, role=role, user_id=user, name=name or None, ttl=ttl)


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def admin_token() -> str:
    return auth.mint(SECRET, room="*", role="admin", user_id="operator", name="Operator")


async def create_room(base_url: str, room: str = "thailand", *, with_product: bool = False):
    """Create a room on a running server through its API, as the operator does (and, if asked,
    a durian product in it, for sales)."""
    async with aiohttp.ClientSession(base_url=base_url) as http:
        headers = bearer(admin_token())
        response = await http.post("/api/rooms", headers=headers, json={
            "id": room, "title": "Thailand live", "country": "Thailand", "country_code": "TH"})
        assert response.status == 201, await response.text()
        if with_product:
            response = await http.post(f"/api/rooms/{room}/products", headers=headers, json={
                "id": "durian", "name": "Durian", "price": "890", "currency": "THB",
                "stock": 9})
            assert response.status == 201, await response.text()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "") -> None:
    """Poll a condition a test needs to hold (a process up, a port open), then fail loudly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


async def eventually(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = ""):
    """Await until an async or plain condition holds; returns its last truthy value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate} "
                         f"(last value {last!r})")


@dataclass(frozen=True)
class SharedRedis:
    """The Redis the tests share, and the namespace a test's keys and channels live in."""

    url: str
    namespace: str


class RedisServer:
    """A private redis-server on a free port, with append-only persistence so that a restart
    keeps its data, for tests that stop, restart or reconfigure Redis."""

    namespace = "lr"  # the default: nothing else uses this server

    def __init__(self, *args: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="liveroom-redis-"))
        self.proc: subprocess.Popen | None = None
        self.args = args  # further redis-server options

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir),
             *self.args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(up, what=f"redis-server on port {self.port}")
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def stall_redis(port: int, seconds: float) -> threading.Thread:
    """A slow Redis, not a down one: block the redis-server on `port` (started with
    `--enable-debug-command local`) for `seconds` with DEBUG SLEEP, from a thread."""
    def sleep() -> None:
        client = redis.Redis(port=port, socket_timeout=seconds + 5)
        client.execute_command("DEBUG", "SLEEP", seconds)
        client.close()

    thread = threading.Thread(target=sleep, daemon=True)
    thread.start()
    return thread


def redis_stalled(port: int) -> bool:
    """Whether the redis-server on `port` fails to answer a PING within 0.1 s."""
    client = redis.Redis(port=port, socket_timeout=0.1, socket_connect_timeout=0.1,
                         retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
        return False
    except redis.TimeoutError:
        return True
    finally:
        client.close()


class ServerProcess:
    """A real `liveroom serve` process."""

    def __init__(self, redis: SharedRedis | RedisServer | None, *, data_dir: Path | None = None,
                 extra_env: dict[str, str] | None = None, demo: bool = False) -> None:
        self.port = free_port()
        self.redis = redis
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="liveroom-data-"))
        self.extra_env = extra_env or {}
        self.demo = demo
        self.proc: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix="liveroom-server-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        env = {
            **os.environ,
            "LIVEROOM_SECRET": SECRET,
            "LIVEROOM_PORT": str(self.port),
            "LIVEROOM_DATA_DIR": str(self.data_dir),
            # Short presence timings keep crash tests quick; the defaults are 2 s / 6 s.
            "LIVEROOM_HEARTBEAT_INTERVAL": "1",
            "LIVEROOM_PRESENCE_TTL": "3",
            # Every test client comes from 127.0.0.1; the tests of the cap set their own.
            "LIVEROOM_CONNECTIONS_PER_ADDRESS": "0",
            **self.extra_env,
        }
        env.pop("LIVEROOM_REDIS_URL", None)
        env.pop("LIVEROOM_REDIS_NAMESPACE", None)
        if self.redis is not None:
            env["LIVEROOM_REDIS_URL"] = self.redis.url
            env["LIVEROOM_REDIS_NAMESPACE"] = self.redis.namespace
        args = [sys.executable, "-m", "liveroom.server", "serve"] + (["--demo"] if self.demo else [])
        self.proc = subprocess.Popen(args, env=env, stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT)

        def serving() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n"
                                     + self.log.read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(serving, timeout=20, what=f"liveroom serve on port {self.port}")
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, like a crashed machine."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def public_id(room: str, user: str) -> str:
    """What the room shows of a user: their public id there (liveroom/domain/public_ids.py)."""
    return public_user_id(SECRET, room, user)
