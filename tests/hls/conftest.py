"""HLS tests: the whole app on a real port, real aiortc publishers on loopback (the media
tests' fixtures)."""

from ..signaling.conftest import (  # noqa: F401
    collect_garbage,
    engine_kind,
    http,
    media_server,
    peers,
)
