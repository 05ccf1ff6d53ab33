"""A server message, encoded at most once per wire format however many sockets it goes to."""

from __future__ import annotations

from typing import Any

from ..domain.codec import pack, to_json
from .frames import binary_frame, text_frame

FORMATS = ("json", "msgpack")


class Encoded:
    __slots__ = ("message", "_json", "_msgpack")

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message
        self._json: bytes | None = None
        self._msgpack: bytes | None = None

    def frame(self, fmt: str) -> bytes:
        if fmt == "json":
            if self._json is None:
                self._json = text_frame(to_json(self.message).encode("utf-8"))
            return self._json
        if self._msgpack is None:
            self._msgpack = binary_frame(pack(self.message))
        return self._msgpack


def event_message(seq: int, event: dict[str, Any]) -> dict[str, Any]:
    """The wire form of a room event: type and seq first, then its fields."""
    message = {"type": event["type"], "seq": seq}
    message.update(event)
    return message
