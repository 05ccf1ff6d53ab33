"""Files only this server's user may read: the data directory (the embedded engine's rooms,
orders and delivery log live there) and the token signing secret in it.

The directory is made (or tightened to) 0700, so nothing in it is readable by other local
users whatever the umask made of the files. The secret is written 0600 from its first byte
(never readable by others, even for a moment) and appears under its name in one step: two
processes starting together agree on one secret instead of each keeping its own.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and its missing parents) for this user only; tighten it if it is ours
    and others may read it."""
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        log.warning("data dir %s was readable by other users (%o); it is now 0700", path,
                    stat.S_IMODE(info.st_mode))
        os.chmod(path, PRIVATE_DIR)
    return path


def create_private(path: Path, text: str) -> str:
    """Write `text` to `path` (0600, fsynced) unless it exists; return what `path` holds."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if it exists: whoever linked first wins
        except FileExistsError:
            return path.read_text(encoding="utf-8")
        _sync_dir(path.parent)
        return text
    finally:
        tmp.unlink(missing_ok=True)


def replace_private(path: Path, text: str) -> None:
    """Write `text` to `path` (0600 from the first byte, fsynced), replacing what was there."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
