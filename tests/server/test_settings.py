from __future__ import annotations

import socket

import pytest

from liveroom.config import ConfigError, with_secret
from liveroom.server.settings import settings_from
from signaling.setup import instance_url


def test_flags_win_over_the_environment_and_the_environment_over_defaults():
    env = {"LIVEROOM_PORT": "9000", "LIVEROOM_HOST": "0.0.0.0", "LIVEROOM_DEMO": "yes"}
    settings = settings_from({"port": 9100}, env).core
    assert (settings.port, settings.host, settings.demo) == (9100, "0.0.0.0", True)
    assert settings.base_url == "http://127.0.0.1:9100"


@pytest.mark.parametrize("env, names", [
    ({"LIVEROOM_PORT": "eighty"}, "LIVEROOM_PORT"),
    ({"LIVEROOM_PORT": "70000"}, "LIVEROOM_PORT"),
    ({"LIVEROOM_DEMO": "maybe"}, "LIVEROOM_DEMO"),
    ({"LIVEROOM_REDIS_URL": "localhost:6379", "LIVEROOM_SECRET": "s" * 40},
     "LIVEROOM_REDIS_URL"),
    ({"LIVEROOM_REDIS_URL": "redis://localhost"}, "LIVEROOM_SECRET"),
    ({"LIVEROOM_SECRET": "short"}, "LIVEROOM_SECRET"),
    ({"LIVEROOM_LOG_LEVEL": "LOUD"}, "LIVEROOM_LOG_LEVEL"),
    ({"LIVEROOM_HEARTBEAT_INTERVAL": "5", "LIVEROOM_PRESENCE_TTL": "6"},
     "LIVEROOM_PRESENCE_TTL"),
])
def test_a_bad_setting_is_refused_naming_it(env, names):
    with pytest.raises(ConfigError, match=names):
        settings_from({}, env)


def test_the_embedded_secret_is_generated_once_and_kept(tmp_path):
    settings = settings_from({"data_dir": tmp_path}, {}).core
    first = with_secret(settings)
    assert len(first.secret) >= 32
    assert with_secret(settings).secret == first.secret
    assert (tmp_path / "secret").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("env, names", [
    ({"LIVEROOM_ICE_SERVERS": "stun.example.net:3478"}, "LIVEROOM_ICE_SERVERS"),
    ({"LIVEROOM_ICE_SERVERS": "turn:turn.example.net:3478"}, "LIVEROOM_TURN_SECRET"),
    ({"LIVEROOM_ICE_ADDRESSES": "localhost"}, "LIVEROOM_ICE_ADDRESSES"),
    ({"LIVEROOM_MEDIA_ROUTING": "teleport"}, "LIVEROOM_MEDIA_ROUTING"),
    ({"LIVEROOM_MEDIA_FORWARD": "sendmmsg"}, "LIVEROOM_MEDIA_FORWARD"),
    ({"LIVEROOM_MEDIA_TIMEOUT": "0"}, "LIVEROOM_MEDIA_TIMEOUT"),
    ({"LIVEROOM_TURN_TTL": "-1"}, "LIVEROOM_TURN_TTL"),
    ({"LIVEROOM_DEMO_VIDEO": "sometimes"}, "LIVEROOM_DEMO_VIDEO"),
    ({"LIVEROOM_INSTANCE_URL": "10.0.0.12:8081"}, "LIVEROOM_INSTANCE_URL"),
    ({"LIVEROOM_INSTANCE_URL": "http://10.0.0.12:8081/liveroom"}, "LIVEROOM_INSTANCE_URL"),
    ({"LIVEROOM_LEG_LINGER": "-1"}, "LIVEROOM_LEG_LINGER"),
    ({"LIVEROOM_LEG_STALL_TIMEOUT": "0"}, "LIVEROOM_LEG_STALL_TIMEOUT"),
])
def test_a_bad_media_setting_is_refused_naming_it(env, names):
    with pytest.raises(ConfigError, match=names):
        settings_from({}, env)


def test_media_settings_from_the_environment():
    settings = settings_from({}, {
        "LIVEROOM_ICE_SERVERS": "stun:stun.example.net:3478, turn:turn.example.net:3478",
        "LIVEROOM_TURN_SECRET": "coturn-shared-secret", "LIVEROOM_ICE_ADDRESSES": "127.0.0.1",
        "LIVEROOM_MEDIA_ROUTING": "redirect", "LIVEROOM_DEMO_VIDEO": "off",
        "LIVEROOM_MEDIA_FORWARD": "aiortc",
    }).media
    assert settings.ice_servers == ("stun:stun.example.net:3478", "turn:turn.example.net:3478")
    assert settings.ice_addresses == ("127.0.0.1",)
    assert (settings.media_routing, settings.demo_video) == ("redirect", False)
    assert settings.media_forward == "aiortc"


def test_where_other_instances_open_relay_legs():
    def url(env: dict[str, str]) -> str:
        settings = settings_from({}, env)
        return instance_url(settings.core, settings.media)

    assert url({"LIVEROOM_PORT": "8081"}) == "http://127.0.0.1:8081"
    assert url({"LIVEROOM_HOST": "0.0.0.0"}) == f"http://{socket.gethostname()}:8080"
    assert url({"LIVEROOM_HOST": "::1", "LIVEROOM_PORT": "8082"}) == "http://[::1]:8082"
    assert url({"LIVEROOM_INSTANCE_URL": "http://10.0.0.12:8081/"}) == "http://10.0.0.12:8081"
