"""A real nginx (Debian's package) with the repository's deploy/nginx/ configuration in front of
real `liveroom serve` processes. Only the addresses in upstreams.conf, the listening port and
the HLS cache's directory are changed for the test; everything else is the file as it ships.
Without nginx the tests fail, never skip."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from ..helpers import RedisServer, ServerProcess, free_port, wait_until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if found is None:
        pytest.fail("the deploy tests need nginx: apt-get install -y nginx "
                    "(.ci/install-test-deps installs it)", pytrace=False)
    return found


class Nginx:
    """nginx on a free 127.0.0.1 port with deploy/nginx/*.conf, balancing over `ports`."""

    def __init__(self, ports: list[int]) -> None:
        self.binary = nginx_binary()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="liveroom-nginx-"))
        self.access_log = self.dir / "access.log"
        self.error_log = self.dir / "error.log"
        self.proc: subprocess.Popen | None = None

        site = (DEPLOY / "nginx" / "liveroom.conf").read_text()
        site, n = re.subn(r"^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{self.port};", site,
                          flags=re.M)
        assert n == 1, "deploy/nginx/liveroom.conf should have exactly one `listen 80;`"
        # The HLS cache in this nginx's own directory (tests run side by side).
        site, n = re.subn(r"proxy_cache_path\s+\S+", f"proxy_cache_path {self.dir}/hls-cache",
                          site)
        assert n == 1, "deploy/nginx/liveroom.conf should have exactly one proxy_cache_path"
        # nginx's workers (not root) write the cache, as /var/cache/nginx is theirs on a host.
        self.dir.chmod(0o755)
        (self.dir / "hls-cache").mkdir(mode=0o777)
        (self.dir / "hls-cache").chmod(0o777)
        upstreams = (DEPLOY / "nginx" / "upstreams.conf").read_text()
        addresses = iter(ports)
        upstreams, n = re.subn(r"(^\s*server\s+)\S+:\d+",
                               lambda m: f"{m.group(1)}127.0.0.1:{next(addresses)}", upstreams,
                               flags=re.M)
        assert n == len(ports), f"upstreams.conf lists {n} servers, the test runs {len(ports)}"
        (self.dir / "liveroom.conf").write_text(site)
        (self.dir / "upstreams.conf").write_text(upstreams)
        # What the nginx image's (or Debian's) own nginx.conf around conf.d/ provides.
        (self.dir / "nginx.conf").write_text(f"""
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.error_log} info;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    include {self.dir}/upstreams.conf;
    include {self.dir}/liveroom.conf;
}}
""")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
             "-e", str(self.error_log), "-g", "daemon off;"],
            stdout=open(self.access_log, "wb"), stderr=subprocess.STDOUT,
        )

        def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited with {self.proc.returncode}:\n"
                                     + self.error_log.read_text()
                                     + self.access_log.read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(listening, what=f"nginx on port {self.port}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish what is open, then exit
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Deployment:
    """One Redis, N instances, nginx in front: deploy/compose.yaml on this machine."""

    def __init__(self, redis: RedisServer, servers: list[ServerProcess], nginx: Nginx) -> None:
        self.redis = redis
        self.servers = servers
        self.nginx = nginx

    @property
    def url(self) -> str:
        return self.nginx.url


@pytest.fixture
def deployment():
    started: list = []

    def start(n: int = 3, extra_env: dict[str, str] | None = None) -> Deployment:
        redis = RedisServer("--enable-debug-command", "local")
        redis.start()
        started.append(redis)
        servers = [ServerProcess(redis, extra_env=extra_env) for _ in range(n)]
        started.extend(servers)
        for server in servers:
            server.start()
        nginx = Nginx([s.port for s in servers]).start()
        started.append(nginx)
        return Deployment(redis, servers, nginx)

    yield start
    for thing in reversed(started):
        if isinstance(thing, RedisServer):
            thing.cleanup()
        else:
            thing.stop()
