"""LIVEROOM_REDIS_URL names one Redis, a Sentinel group or a Cluster; a malformed one stops
start-up with a message that says what is wrong."""

from __future__ import annotations

import pytest

from liveroom.config import ConfigError, RedisTarget, Settings, redis_target, validate


def test_a_sentinel_url_names_the_sentinels_the_group_and_the_database():
    assert redis_target("redis+sentinel://:s3cret@h1:26379,h2:26380,h3:26381/mymaster/2") == (
        RedisTarget("sentinel", "redis+sentinel://:s3cret@h1:26379,h2:26380,h3:26381/mymaster/2",
                    (("h1", 26379), ("h2", 26380), ("h3", 26381)), "mymaster", 2, None,
                    "s3cret"))
    assert redis_target("redis+sentinel://h1:26379/mymaster").db == 0


def test_a_cluster_url_names_some_of_its_nodes():
    target = redis_target("redis+cluster://h1:7000,h2:7001")
    assert (target.mode, target.nodes) == ("cluster", (("h1", 7000), ("h2", 7001)))


def test_a_plain_url_is_kept_as_given():
    assert redis_target("redis://127.0.0.1:6379/9") == RedisTarget("single",
                                                                    "redis://127.0.0.1:6379/9")


@pytest.mark.parametrize("url, says", [
    ("http://h1:6379", "unknown scheme 'http'"),
    ("127.0.0.1:6379", "no scheme"),
    ("redis+sentinel://h1:26379", "the sentinel group's name"),
    ("redis+sentinel://h1:26379/mymaster/zero", "the sentinel group's name"),
    ("redis+sentinel://h1/mymaster", "'h1' is not host:port"),
    ("redis+cluster://h1:7000,h2:port", "'h2:port' is not host:port"),
    ("redis+cluster://h1:7000/0", "a cluster has no database"),
])
def test_a_malformed_url_stops_start_up_saying_why(url, says):
    with pytest.raises(ConfigError) as refused:
        validate(Settings(secret="s" * 40, redis_url=url))
    assert "LIVEROOM_REDIS_URL" in str(refused.value) and says in str(refused.value)


@pytest.mark.parametrize("field, value, var", [
    ("redis_min_replicas", -1, "LIVEROOM_REDIS_MIN_REPLICAS"),
    ("redis_wait_timeout", 0, "LIVEROOM_REDIS_WAIT_TIMEOUT"),
])
def test_replica_settings_are_checked(field, value, var):
    with pytest.raises(ConfigError, match=var):
        validate(Settings(secret="s" * 40, **{field: value}))

