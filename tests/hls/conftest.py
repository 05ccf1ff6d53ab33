"""HLS tests: the whole app on a real port, real aiortc publishers on loopback (the media
tests' fixtures)."""

from ..multi.cascade import loopback_peers  # noqa: F401
from ..multi.conftest import start_servers  # noqa: F401
from ..signaling.conftest import (  # noqa: F401
    collect_garbage,
    engine_kind,
    http,
    media_server,
    peers,
)
