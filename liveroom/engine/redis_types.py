"""Replies as the types they are. redis-py types every reply as `bytes | str` (decoding is a
client option) and a sorted set's members as possibly scored pairs (WITHSCORES is a flag); the
engine's clients never decode and never ask for scores, so members and values are bytes."""

from __future__ import annotations


def as_bytes(reply: object) -> bytes:
    if not isinstance(reply, bytes):
        raise TypeError(f"expected a bytes reply from Redis, got {type(reply).__name__}")
    return reply


def as_text(reply: object) -> str:
    return as_bytes(reply).decode()
