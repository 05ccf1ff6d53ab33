"""msgpack and JSON, configured once: every Redis payload and every msgpack frame goes through here."""

from __future__ import annotations

import json
from typing import Any

import msgpack

_packer_options = {"use_bin_type": True}


def pack(value: Any) -> bytes:
    return msgpack.packb(value, **_packer_options)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=True)


def to_json(value: Any) -> str:
    # Compact, and UTF-8 rather than \u escapes: Thai or Chinese chat is half the bytes.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | bytes) -> Any:
    return json.loads(text)
