"""Where a room's HLS segments are kept: the live window and the recordings (replays) are the
same files, so a live session is recorded by being segmented at all.

`Recordings` is the interface; `DiskRecordings` keeps them under the data dir:

    <data_dir>/recordings/<room>/<session>/
        meta.json          who published, when it started (written first)
        init-<p>.mp4       the init segment of period p (a new one when the stream changes)
        <n>.m4s            media segment n
        segments.tsv       one line per segment written: "<n>\t<seconds>\t<period>"
        timeline.jsonl     the session's pins, sales and chat, one JSON object a line
        ended              present once the session ended cleanly

Every file is written once and never changed but the two logs, which are only appended to, a
line after the file it names is complete: whatever a crash (SIGKILL) interrupts, what the
logs name is whole, and the playlist built from them ends where the session stopped. The
playlists are built from segments.tsv when asked for, not kept: the target duration is known
only once every segment is.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # rooms and sessions
SEGMENT = re.compile(r"^(?:init-\d{1,6}\.mp4|\d{1,9}\.m4s)$")


@dataclass(frozen=True)
class Segment:
    seq: int
    duration: float  # seconds
    period: int  # which init segment it follows


def valid_name(value: str) -> bool:
    return bool(NAME.match(value))


def valid_segment(value: str) -> bool:
    return bool(SEGMENT.match(value))


def media_playlist(segments: list[Segment], *, prefix: str, query: str = "",
                   ended: bool, media_sequence: int | None = None,
                   playlist_type: str | None = None) -> str:
    """An HLS media playlist (version 7: fMP4 with EXT-X-MAP) of these segments; their URIs
    are `<prefix><name><query>`."""
    target = max((math.ceil(s.duration) for s in segments), default=1)
    first = segments[0].seq if segments else 0
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{max(target, 1)}",
             f"#EXT-X-MEDIA-SEQUENCE:{first if media_sequence is None else media_sequence}"]
    if playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    period = None
    for segment in segments:
        if segment.period != period:
            if period is not None:
                lines.append("#EXT-X-DISCONTINUITY")
            period = segment.period
            lines.append(f'#EXT-X-MAP:URI="{prefix}init-{period}.mp4{query}"')
        lines += [f"#EXTINF:{segment.duration:.3f},", f"{prefix}{segment.seq}.m4s{query}"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


class Recordings(ABC):
    """A room's recorded sessions. Names are checked by the caller (valid_name,
    valid_segment); implementations may assume them safe."""

    @abstractmethod
    def start(self, room: str, session: str, meta: dict[str, Any]) -> None: ...

    @abstractmethod
    def put_init(self, room: str, session: str, period: int, data: bytes) -> None: ...

    @abstractmethod
    def put_segment(self, room: str, session: str, segment: Segment, data: bytes) -> None: ...

    @abstractmethod
    def drop_segment(self, room: str, session: str, seq: int) -> None:
        """A segment no longer wanted (rolled off a live window that is not kept)."""

    @abstractmethod
    def append_event(self, room: str, session: str, event: dict[str, Any]) -> None: ...

    @abstractmethod
    def finish(self, room: str, session: str) -> None: ...

    @abstractmethod
    def read(self, room: str, session: str, name: str) -> bytes | None: ...

    @abstractmethod
    def segments(self, room: str, session: str) -> list[Segment] | None:
        """None: no such session."""

    @abstractmethod
    def timeline(self, room: str, session: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def meta(self, room: str, session: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def sessions(self, room: str) -> list[str]:
        """The room's sessions, oldest first."""

    @abstractmethod
    def rooms(self) -> list[str]: ...

    @abstractmethod
    def delete(self, room: str, session: str) -> bool: ...

    @abstractmethod
    def usage(self, room: str) -> int:
        """Bytes the room's recordings take."""


class DiskRecordings(Recordings):
    """Recordings as files under `root` (see the module's docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, room: str, session: str) -> Path:
        return self.root / room / session

    def start(self, room: str, session: str, meta: dict[str, Any]) -> None:
        path = self._dir(room, session)
        path.mkdir(parents=True, exist_ok=True)
        self._write(path / "meta.json", json.dumps(meta).encode())

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        # Whole or absent: a reader (or a crash) never sees half a file under its name.
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        partial.replace(path)

    @staticmethod
    def _append(path: Path, line: str) -> None:
        with path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")

    def put_init(self, room: str, session: str, period: int, data: bytes) -> None:
        self._write(self._dir(room, session) / f"init-{period}.mp4", data)

    def put_segment(self, room: str, session: str, segment: Segment, data: bytes) -> None:
        path = self._dir(room, session)
        self._write(path / f"{segment.seq}.m4s", data)
        self._append(path / "segments.tsv",
                     f"{segment.seq}\t{segment.duration:.6f}\t{segment.period}")

    def drop_segment(self, room: str, session: str, seq: int) -> None:
        (self._dir(room, session) / f"{seq}.m4s").unlink(missing_ok=True)

    def append_event(self, room: str, session: str, event: dict[str, Any]) -> None:
        self._append(self._dir(room, session) / "timeline.jsonl",
                     json.dumps(event, separators=(",", ":")))

    def finish(self, room: str, session: str) -> None:
        path = self._dir(room, session)
        if path.is_dir():
            (path / "ended").write_text(str(time.time()))

    def read(self, room: str, session: str, name: str) -> bytes | None:
        try:
            return (self._dir(room, session) / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def segments(self, room: str, session: str) -> list[Segment] | None:
        path = self._dir(room, session)
        if not (path / "meta.json").is_file():
            return None
        out: list[Segment] = []
        try:
            text = (path / "segments.tsv").read_text(encoding="utf-8")
        except FileNotFoundError:
            return out
        for line in text.splitlines():
            fields = line.split("\t")
            if len(fields) != 3:
                continue  # the last line, cut short by a crash
            try:
                out.append(Segment(int(fields[0]), float(fields[1]), int(fields[2])))
            except ValueError:
                continue
        return out

    def timeline(self, room: str, session: str) -> list[dict[str, Any]]:
        try:
            text = (self._dir(room, session) / "timeline.jsonl").read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        events = []
        for line in text.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # cut short by a crash
        return events

    def meta(self, room: str, session: str) -> dict[str, Any] | None:
        data = self.read(room, session, "meta.json")
        if data is None:
            return None
        meta = json.loads(data)
        meta["ended"] = (self._dir(room, session) / "ended").is_file()
        return meta

    def sessions(self, room: str) -> list[str]:
        path = self.root / room
        if not path.is_dir():
            return []
        return sorted(p.name for p in path.iterdir()
                      if valid_name(p.name) and (p / "meta.json").is_file())

    def rooms(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if valid_name(p.name) and p.is_dir())

    def delete(self, room: str, session: str) -> bool:
        path = self._dir(room, session)
        if not path.is_dir():
            return False
        shutil.rmtree(path, ignore_errors=True)
        return True

    def usage(self, room: str) -> int:
        path = self.root / room
        if not path.is_dir():
            return 0
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
