"""The operator's settings: logs, limits, deadlines; each refused with its name when wrong."""

from __future__ import annotations

import pytest

from liveroom.config import ConfigError
from liveroom.server.settings import settings_from


def test_operations_settings_come_from_the_environment():
    settings = settings_from({}, {
        "LIVEROOM_LOG_FORMAT": "json", "LIVEROOM_MAX_CONNECTIONS": "5000",
        "LIVEROOM_MAX_ROOM_CONNECTIONS": "2000", "LIVEROOM_MAX_BODY_BYTES": "65536",
        "LIVEROOM_REQUEST_TIMEOUT": "2.5", "LIVEROOM_DRAIN_TIMEOUT": "45"}).core
    assert (settings.log_format, settings.max_connections, settings.max_room_connections,
            settings.max_body_bytes, settings.request_timeout, settings.drain_timeout) == (
        "json", 5000, 2000, 65536, 2.5, 45.0)
    assert settings_from({"log_format": "json"}, {}).core.log_format == "json"  # --log-format


@pytest.mark.parametrize("env, name", [
    ({"LIVEROOM_LOG_FORMAT": "xml"}, "LIVEROOM_LOG_FORMAT"),
    ({"LIVEROOM_MAX_CONNECTIONS": "-1"}, "LIVEROOM_MAX_CONNECTIONS"),
    ({"LIVEROOM_MAX_CONNECTIONS": "many"}, "LIVEROOM_MAX_CONNECTIONS"),
    ({"LIVEROOM_MAX_ROOM_CONNECTIONS": "-5"}, "LIVEROOM_MAX_ROOM_CONNECTIONS"),
    ({"LIVEROOM_MAX_BODY_BYTES": "0"}, "LIVEROOM_MAX_BODY_BYTES"),
    ({"LIVEROOM_REQUEST_TIMEOUT": "0"}, "LIVEROOM_REQUEST_TIMEOUT"),
    ({"LIVEROOM_DRAIN_TIMEOUT": "soon"}, "LIVEROOM_DRAIN_TIMEOUT"),
    ({"LIVEROOM_DRAIN_TIMEOUT": "-1"}, "LIVEROOM_DRAIN_TIMEOUT"),
    ({"LIVEROOM_HISTORY_SIZE": "0"}, "LIVEROOM_HISTORY_SIZE"),
])
def test_a_bad_operations_setting_is_refused_naming_it(env, name):
    with pytest.raises(ConfigError, match=name):
        settings_from({}, env)
