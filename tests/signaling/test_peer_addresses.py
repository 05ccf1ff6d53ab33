"""Which remote candidate addresses the server sends ICE checks to (peer_addresses.py)."""

from __future__ import annotations

import pytest

from signaling.peer_addresses import PeerAddresses


@pytest.mark.parametrize("own, host, allowed", [
    # A public server checks public addresses only.
    (["203.0.114.7"], "8.8.8.8", True),
    (["203.0.114.7"], "2a00:1450:4001:80b::200e", True),
    (["203.0.114.7"], "127.0.0.1", False),
    (["203.0.114.7"], "10.1.2.3", False),
    (["203.0.114.7"], "192.168.1.20", False),
    (["203.0.114.7"], "172.20.0.5", False),
    (["203.0.114.7"], "169.254.169.254", False),  # the cloud metadata service
    (["203.0.114.7"], "100.64.0.9", False),
    (["203.0.114.7"], "fd00::5", False),
    (["203.0.114.7"], "::ffff:127.0.0.1", False),  # loopback, mapped into IPv6
    (["203.0.114.7"], "64:ff9b::a00:1", False),  # 10.0.0.1 through NAT64
    (["203.0.114.7"], "224.0.0.251", False),  # multicast
    (["203.0.114.7"], "255.255.255.255", False),
    (["203.0.114.7"], "0.0.0.0", False),
    (["203.0.114.7"], "abcd.local", False),  # an mDNS name: never resolved
    # A server on a private network or on loopback reaches its neighbours there.
    (["10.99.0.1"], "10.42.0.2", True),
    (["10.99.0.1"], "192.168.1.20", False),
    (["10.99.0.1"], "127.0.0.1", False),
    (["127.0.0.1"], "127.0.0.1", True),
    (["127.0.0.1"], "10.0.0.1", False),
    (["169.254.3.4"], "169.254.169.254", False),  # link-local, but not the metadata address
])
def test_by_default_checks_go_to_public_addresses_and_the_servers_own_ranges(own, host,
                                                                          allowed):
    assert PeerAddresses.for_server((), own).allows(host) is allowed


def test_the_operator_names_the_networks_instead():
    rule = PeerAddresses.for_server(["192.168.0.0/16", "169.254.169.254"], ["127.0.0.1"])
    assert rule.allows("192.168.7.7") and rule.allows("8.8.8.8")
    assert not rule.allows("127.0.0.1")  # the server's own range no longer comes by itself
    assert rule.allows("169.254.169.254")  # named exactly
