"""Durable files for the embedded engine: one JSON document per room, replaced atomically.

A write goes to a temporary file that is flushed to disk (fsync) and then renamed over the old
one, so a crash leaves either the old document or the new one, never half of each.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    # The rename itself is durable only once the directory entry is.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class RoomFiles:
    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / "rooms"
        self.dir.mkdir(parents=True, exist_ok=True)

    def load_all(self) -> dict[str, dict[str, Any]]:
        rooms = {}
        for path in sorted(self.dir.glob("*.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            rooms[document["record"]["id"]] = document
        return rooms

    def save(self, room: str, document: dict[str, Any]) -> None:
        data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        write_atomically(self.dir / f"{room}.json", data)

    def remove(self, room: str) -> None:
        (self.dir / f"{room}.json").unlink(missing_ok=True)
