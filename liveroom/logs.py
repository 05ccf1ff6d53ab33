"""Logging: text for a terminal, one JSON object per line for a log collector.

Every line carries the request id, connection id and room of the work it was written for, when
there is one: the HTTP middleware and the room channel set them in context variables, which
follow the request's task and the tasks it starts. The level can be changed while the server
runs (`PUT /api/admin/log-level`), without a restart.

    {"time": "2026-05-04T09:12:03.512Z", "level": "INFO", "logger": "liveroom.channel.connection",
     "message": "...", "instance": "3f9a0c1d2e4b", "connection_id": "8c1e2a9b4f01",
     "room": "thailand"}
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any, TextIO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("connection_id", default=None)
room: ContextVar[str | None] = ContextVar("room", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def context() -> dict[str, str]:
    """The ids of the work being done here, as far as they are known."""
    found = {"request_id": request_id.get(), "connection_id": connection_id.get(),
             "room": room.get()}
    return {key: value for key, value in found.items() if value is not None}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.gmtime(record.created)
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "instance": self.instance,
            **context(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = {**context(), **_extras(record)}
        if not ids:
            return line
        return line + " [" + " ".join(f"{key}={value}" for key, value in ids.items()) + "]"


def configure(level: str, fmt: str, instance: str, stream: TextIO | None = None) -> None:
    """Send every log line to stderr (or `stream`) in the chosen format, at `level`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(instance) if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def get_level() -> str:
    return logging.getLevelName(logging.getLogger().level)


def set_level(level: str) -> str:
    """Change the level of every logger that has none of its own; return the previous one."""
    previous = get_level()
    logging.getLogger().setLevel(level.upper())
    return previous
