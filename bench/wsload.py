"""The load generator's viewers: thousands of WebSocket clients that cost next to nothing.

A viewer writes the HTTP upgrade itself and waits for the system's "you are in" signal
(liveroom's snapshot, Socket.IO's CONNECT, or just the 101 for the lean relay); asyncio drives
these handshakes. Then its socket is handed to a plain epoll loop and no WebSocket frame is ever
parsed again: server frames are unmasked and never fragmented, so every marker (see common.py)
lies whole in the byte stream. One regular expression per read finds them all, and each viewer
checks that every publisher's counter arrives exactly once and in order.

After the handshakes the load process forks into children that share the viewers out. The
sampling child holds a few viewers, reads each as soon as data arrives, and keeps `read time -
intended send time` of every message. The bulk children hold everyone else and sleep
`read_interval` between rounds of reads, so that one read finds several messages waiting in the
kernel: the servers write exactly as they would to a fast client, and the load generator stays
a small share of the two cores.

Keep-alive: the viewers do not parse pings, so each sends an unsolicited keep-alive, spread
evenly, about as often as a real client answering the server's pings would: a WebSocket pong
every 25 s to liveroom (aiohttp's 30 s heartbeat counts any frame from the client; a browser
answers one ping per 30 s of silence), an Engine.IO pong `3` every 15 s to python-socketio
(under its 20 s ping timeout). The lean relay has no heartbeat and gets none.

Each child talks to the orchestrator through a pipe of its own:
    <- ready {connected, failed, errors, pid}  after every viewer is in
    -> go {marks}                              record delivery counts at these times
    -> finish {sent, rejected, drain, window}  wait until complete (or drain seconds), then
    <- result {...}
    -> close
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import os
import select
import socket
import time
import traceback
from typing import Any

from common import MARKER_COUNT, MARKER_TIMED, now_us, raise_fd_limit

HTTP, WAIT_OPEN, WAIT_READY, LIVE = range(4)
CONNECT_TIMEOUT = 30.0
CONNECT_ATTEMPTS = 3


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 5.2) with a payload under 126 bytes."""
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + masked


WS_PONG = client_frame(0xA, b"")
SIO_CONNECT = client_frame(0x1, b"40")
SIO_PONG = client_frame(0x1, b"3")

# kind -> (what after the 101 says the viewer is in, keep-alive frame, seconds between them)
KINDS: dict[str, tuple[bytes | None, bytes | None, float]] = {
    "liveroom": (b'"type":"snapshot"', WS_PONG, 25.0),  # under aiohttp's 30 s heartbeat
    "lean": (None, None, 0.0),
    "socketio": (b"40{", SIO_PONG, 15.0),  # under Engine.IO's 20 s ping timeout
}


class Viewer(asyncio.Protocol):
    def __init__(self, kind: str, path: str, host: str, port: int, sample: bool,
                 publishers: list[str]) -> None:
        self.kind = kind
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: "
            f"{base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.ready_token, self.keepalive_frame, self.keepalive_every = KINDS[kind]
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.sock: socket.socket | None = None  # once detached from asyncio
        self.phase = HTTP
        self.buf = b""
        self.tail = b""
        self.sample = sample
        self.count = 0  # markers received, duplicates included
        self.nbytes = 0
        self.expected = {p.encode(): 0 for p in publishers}  # next counter per publisher
        self.missing: dict[bytes, set[int]] = {}  # counters skipped so far
        self.dups = 0
        self.late = 0  # arrived after a later counter of the same publisher
        self.latencies: list[tuple[int, int]] = []  # (intended us, latency us)
        self.irregular: list[str] = []  # the first few irregular arrivals
        self.dropped = False
        self.closing = False

    # --- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            detail = self.buf[:300].decode("utf-8", "replace")
            self.ready.set_exception(ConnectionError(f"closed during handshake: {exc} {detail}"))
        elif not self.closing:
            self.dropped = True

    def data_received(self, data: bytes) -> None:
        if self.phase != LIVE:
            self._handshake(data)
            return
        self.nbytes += len(data)
        if self.tail:
            data = self.tail + data
            self.tail = b""
        cut = data.rfind(b"#")
        if cut >= 0 and data.find(b";", cut) < 0:
            self.tail = data[cut:]  # a marker cut in two: finish it with the next read
        if self.sample:
            self._timed(data)
            return
        found = MARKER_COUNT.findall(data)
        if not found:
            return
        self.count += len(found)
        expected = self.expected
        for pub, num in found:
            n = int(num)
            if expected[pub] == n:
                expected[pub] = n + 1
            else:
                self._irregular(pub, n)

    def _timed(self, data: bytes) -> None:
        found = MARKER_TIMED.findall(data)
        if not found:
            return
        now = now_us()
        self.count += len(found)
        expected = self.expected
        for pub, num, intended in found:
            n, t = int(num), int(intended)
            self.latencies.append((t, now - t))
            if expected[pub] == n:
                expected[pub] = n + 1
            else:
                self._irregular(pub, n)

    def _irregular(self, pub: bytes, n: int) -> None:
        e = self.expected[pub]
        if n > e:
            self.missing.setdefault(pub, set()).update(range(e, n))
            self.expected[pub] = n + 1
            self._note("skipped to", pub, n, e)
            return
        gaps = self.missing.get(pub)
        if gaps and n in gaps:
            gaps.discard(n)
            self.late += 1
            self._note("late", pub, n, e)
        else:
            self.dups += 1
            self._note("duplicate", pub, n, e)

    def _note(self, what: str, pub: bytes, n: int, expected: int) -> None:
        if len(self.irregular) < 5:  # for the report: which messages, not just how many
            self.irregular.append(f"{what} {pub.decode()}{n} (expecting {pub.decode()}{expected})")

    # --- handshake -------------------------------------------------------------------------
    def _handshake(self, data: bytes) -> None:
        self.buf += data
        if self.phase == HTTP:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.buf[: self.buf.find(b"\r\n")]
            if b" 101 " not in status:
                self._fail(f"upgrade refused: {status.decode('latin-1')}")
                return
            self.buf = self.buf[end + 4:]
            self.phase = WAIT_OPEN if self.kind == "socketio" else WAIT_READY
        if self.phase == WAIT_OPEN:
            i = self.buf.find(b'0{"sid"')
            if i < 0:
                return
            self.transport.write(SIO_CONNECT)
            self.buf = self.buf[i + 7:]
            self.phase = WAIT_READY
        if self.phase == WAIT_READY:
            token = self.ready_token
            if token is None:
                rest = self.buf
            else:
                i = self.buf.find(token)
                if i < 0:
                    if b'"type":"error"' in self.buf:
                        self._fail(self.buf[:300].decode("utf-8", "replace"))
                    return
                rest = self.buf[i + len(token):]
            self.buf = b""
            self.phase = LIVE
            self.ready.set_result(None)
            if rest:
                self.data_received(rest)

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        self.transport.close()

    # --- used by the loader ---------------------------------------------------------------
    def detach(self) -> None:
        """Take the socket away from asyncio: the live phase reads it with plain epoll."""
        sock = self.transport.get_extra_info("socket")
        if self.transport.is_closing() or sock is None or sock.fileno() < 0:
            self.dropped = True  # the server hung up right after letting it in
            return
        self.sock = socket.socket(fileno=os.dup(sock.fileno()))  # keeps the connection open
        self.sock.setblocking(False)
        self.closing = True  # not a drop: asyncio lets go of its copy of the descriptor
        self.transport.abort()

    def keepalive(self) -> None:
        if self.keepalive_frame and self.sock is not None and not self.dropped:
            with contextlib.suppress(OSError):
                self.sock.send(self.keepalive_frame)

    def undelivered(self, sent: dict[bytes, int], rejected: dict[bytes, set[int]]) -> int:
        """Counters published (and not refused by the server) that this viewer has not had."""
        total = 0
        for pub, count in sent.items():
            refused = rejected.get(pub, set())
            e = self.expected[pub]
            total += len(self.missing.get(pub, set()) - refused)
            total += max(0, count - e) - sum(1 for r in refused if r >= e)
        return total

    def close(self) -> None:
        self.closing = True
        if self.sock is not None:
            self.sock.close()
        elif self.transport is not None:
            self.transport.close()




# --- the load process -------------------------------------------------------------------------
async def _connect(spec: dict[str, Any], publishers: list[str],
                   sem: asyncio.Semaphore) -> tuple[Viewer | None, str | None]:
    loop = asyncio.get_running_loop()
    error = None
    for attempt in range(CONNECT_ATTEMPTS):
        async with sem:
            viewer = Viewer(spec["kind"], spec["path"], spec["host"], spec["port"],
                            spec["sample"], publishers)
            try:
                await loop.create_connection(lambda: viewer, spec["host"], spec["port"])
                await asyncio.wait_for(asyncio.shield(viewer.ready), CONNECT_TIMEOUT)
                return viewer, None
            except (OSError, asyncio.TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                viewer.close()
        await asyncio.sleep(0.5 * (attempt + 1))
    return None, error


async def _connect_all(cfg: dict[str, Any]) -> list[tuple[Viewer | None, str | None]]:
    """Open every viewer with asyncio (handshakes are the fiddly part), in the order given,
    then detach them."""
    sem = asyncio.Semaphore(cfg["concurrency"])
    results = await asyncio.gather(*(
        _connect(spec, cfg["publishers"], sem) for spec in cfg["viewers"]
    ))
    for viewer, _ in results:
        if viewer is not None:
            viewer.detach()
    await asyncio.sleep(0.1)  # let the transports report their (expected) connection_lost
    for viewer, _ in results:
        if viewer is not None:
            viewer.closing = False
    return results


class LiveLoop:
    """The live phase: epoll over the viewers' sockets and the orchestrator's pipe.

    With `interval` 0 (the sampling process) a socket is read as soon as data arrives; with an
    interval the loop sleeps between rounds, so that each read finds several messages in the
    kernel's buffer: the servers write exactly as before, the load process wakes less often.
    """

    def __init__(self, pipe, viewers: list[Viewer], interval: float) -> None:
        self.pipe = pipe
        self.viewers = viewers
        self.interval = interval
        self.by_fd = {v.sock.fileno(): v for v in viewers if v.sock is not None}
        self.marks: list[float] = []
        self.counts_at_marks: list[int] = []
        self.finish: dict[str, Any] | None = None
        self.done = False
        self.reads = 0
        self.rounds = 0

    def run(self) -> None:
        epoll = select.epoll()
        pipe_fd = self.pipe.fileno()
        epoll.register(pipe_fd, select.EPOLLIN)
        for fd in self.by_fd:
            epoll.register(fd, select.EPOLLIN)
        # Keep-alives go out evenly spread, in the order the viewers opened, one round every
        # keepalive_every seconds: the servers see the steady trickle real clients would cause.
        keepalive_every = max((v.keepalive_every for v in self.viewers), default=0.0)
        keepalive_start, keepalives_sent = time.monotonic(), 0
        timeout = 0 if self.interval else 0.05
        buffer = bytearray(1 << 18)
        view = memoryview(buffer)
        while not self.done:
            started = time.monotonic()
            self.rounds += 1
            for fd, _events in epoll.poll(timeout):
                if fd == pipe_fd:
                    self.command(*self.pipe.recv())
                    continue
                viewer = self.by_fd[fd]
                try:
                    # Into one reused buffer: a fresh 256 KB bytes per read would be an mmap
                    # and munmap each time (glibc), more kernel time than the read itself.
                    n = viewer.sock.recv_into(buffer)
                except BlockingIOError:
                    continue
                except OSError:
                    n = 0
                self.reads += 1
                if n:
                    viewer.data_received(view[:n].tobytes())
                else:
                    epoll.unregister(fd)
                    viewer.dropped = not viewer.closing
            now = time.monotonic()
            while len(self.counts_at_marks) < len(self.marks) and \
                    now >= self.marks[len(self.counts_at_marks)]:
                self.counts_at_marks.append(sum(v.count for v in self.viewers))
            due = int((now - keepalive_start) / keepalive_every * len(self.viewers)) \
                if keepalive_every else 0
            while keepalives_sent < due:
                self.viewers[keepalives_sent % len(self.viewers)].keepalive()
                keepalives_sent += 1
            if self.finish is not None:
                self.check_drained(now)
            if self.interval:
                # Wake at the next mark too, so that its count misses nothing already sent.
                wake = started + self.interval
                if len(self.counts_at_marks) < len(self.marks):
                    wake = min(wake, self.marks[len(self.counts_at_marks)])
                time.sleep(max(0.0, wake - time.monotonic()))
        epoll.close()

    def command(self, command: str, args: dict[str, Any] | None) -> None:
        if command == "go":
            self.marks = sorted(args["marks"])
        elif command == "finish":
            self.finish = args
            self.sent = {p.encode(): n for p, n in args["sent"].items()}
            self.rejected = {p.encode(): set(r) for p, r in args["rejected"].items()}
            self.deadline = time.monotonic() + args["drain"]
            self.next_check = 0.0
        elif command == "close":
            for viewer in self.viewers:
                viewer.close()
            self.done = True
        else:
            raise ValueError(f"unknown command {command!r}")

    def check_drained(self, now: float) -> None:
        if now < self.next_check:
            return
        self.next_check = now + 0.2
        undelivered = [v.undelivered(self.sent, self.rejected) for v in self.viewers]
        if any(undelivered) and now < self.deadline:
            return
        start_us, end_us = (int(t * 1_000_000) for t in self.finish["window"])
        self.pipe.send(("result", {
            "viewers": len(self.viewers),
            "lost": sum(undelivered),
            "incomplete_viewers": sum(1 for u in undelivered if u),
            "dups": sum(v.dups for v in self.viewers),
            "late": sum(v.late for v in self.viewers),
            "dropped": sum(1 for v in self.viewers if v.dropped),
            "counts_at_marks": self.counts_at_marks,
            "delivered": sum(v.count for v in self.viewers),
            "bytes": sum(v.nbytes for v in self.viewers),
            "latencies_us": [lat for v in self.viewers for t, lat in v.latencies
                             if start_us <= t < end_us],
            "drained_at": now,
            "irregular": collections.Counter(e for v in self.viewers for e in v.irregular),
            "reads": self.reads,
            "rounds": self.rounds,
        }))
        self.finish = None


def loader_main(pipes: list, cfg: dict[str, Any]) -> None:
    """Entry point of the load process.

    It opens every viewer in the order of cfg["viewers"], so that the sampled ones are spread
    through each server's connection order (a server writes to its sockets in some order, and
    samples all at its head would flatter it), then forks one child per group, which keeps the
    sockets of its group and runs the live loop with pipes[group].
    """
    raise_fd_limit()
    try:
        results = asyncio.run(_connect_all(cfg))
    except Exception:
        for pipe in pipes:
            pipe.send(("error", traceback.format_exc()))
        return
    children = []
    for group, pipe in enumerate(pipes):
        mine = [r for r, g in zip(results, cfg["groups"]) if g == group]
        pid = os.fork()
        if pid:
            children.append(pid)
            continue
        code = 0
        try:
            for (viewer, _), g in zip(results, cfg["groups"]):
                if viewer is not None and g != group:
                    viewer.sock.close()
            viewers = [v for v, _ in mine if v is not None]
            errors = [e for v, e in mine if v is None]
            pipe.send(("ready", {"connected": len(viewers), "failed": len(errors),
                                 "errors": errors[:5], "pid": os.getpid()}))
            interval = cfg["read_interval"] if group else 0.0
            LiveLoop(pipe, viewers, interval).run()
        except Exception:
            code = 1
            with contextlib.suppress(Exception):
                pipe.send(("error", traceback.format_exc()))
        finally:
            os._exit(code)
    for viewer, _ in results:
        if viewer is not None:
            viewer.sock.close()
    for pid in children:
        os.waitpid(pid, 0)
