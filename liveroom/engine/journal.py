"""An append-only journal of JSON lines, on disk before an append is acknowledged.

Appends made while a write is under way wait for the next one, so a burst of buys shares one
fsync (group commit) instead of queueing for one each. The file is replayed on start-up to
rebuild state; a torn last line (the process died mid-write, before acknowledging it) is ignored.

`forget` rewrites the file without what a purge removed for good (a deleted room's orders, once
exported): purged data does not linger on disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)


class JournalCorrupt(RuntimeError):
    pass


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pending: list[bytes] = []
        self._waiters: list[asyncio.Future] = []
        self._writer: asyncio.Task | None = None
        self._file: BinaryIO | None = None
        self._lock = asyncio.Lock()  # one write or rewrite of the file at a time

    def replay(self) -> Iterator[dict[str, Any]]:
        """Every record written so far, oldest first."""
        if not self.path.exists():
            return
        lines = self.path.read_bytes().split(b"\n")
        good = 0
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if number == len(lines) or all(not rest for rest in lines[number:]):
                    log.warning("%s: ignoring a torn last record", self.path)
                    break
                raise JournalCorrupt(f"{self.path}:{number} is not valid JSON") from None
            good += 1
            yield record
        # Cut a torn tail off, so that new records start on a line of their own.
        size = sum(len(line) + 1 for line in lines[:good]) if good else 0
        if self.path.stat().st_size > size:
            with open(self.path, "r+b") as f:
                f.truncate(size)

    def append(self, *records: dict[str, Any]) -> asyncio.Future:
        """Queue records; the returned future completes once they are on disk."""
        loop = asyncio.get_running_loop()
        for record in records:
            self._pending.append(json.dumps(record, ensure_ascii=False,
                                            separators=(",", ":")).encode() + b"\n")
        waiter = loop.create_future()
        self._waiters.append(waiter)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return waiter

    async def _write_all(self) -> None:
        try:
            while self._pending:
                data, self._pending = b"".join(self._pending), []
                waiters, self._waiters = self._waiters, []
                try:
                    async with self._lock:
                        await asyncio.to_thread(self._write, data)
                except Exception as exc:
                    log.critical("%s: write failed: %s", self.path, exc)
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        finally:
            self._writer = None

    def _write(self, data: bytes) -> None:
        if self._file is None:
            self._file = open(self.path, "ab")
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    async def forget(self, drop: Callable[[dict[str, Any]], bool]) -> None:
        """Rewrite the file without the records `drop` picks (it sees them oldest first, and
        may keep state: e.g. drop a room's records up to the one that purged it). Appends
        made meanwhile wait, and land after the rewritten records."""
        async with self._lock:
            await asyncio.to_thread(self._rewrite, drop)

    def _rewrite(self, drop: Callable[[dict[str, Any]], bool]) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_bytes().split(b"\n")
                if line and not drop(json.loads(line))]
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(b"".join(line + b"\n" for line in kept))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.shield(self._writer)
        if self._file is not None:
            self._file.close()
            self._file = None
