"""Which addresses webhooks may go to (liveroom/webhooks/targets.py)."""

from __future__ import annotations

import ipaddress

import pytest

from liveroom.webhooks import RefusedTarget, TargetPolicy


@pytest.mark.parametrize("address, refused", [
    ("127.0.0.1", "loopback"), ("127.1.2.3", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("fd00:ec2::254", "metadata"), ("100.100.100.200", "metadata"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.1", "multicast"),
    ("255.255.255.255", "reserved"), ("203.0.113.7", None), ("10.1.2.3", None),
    ("192.168.1.20", None), ("2001:db8::1", None),
])
def test_loopback_link_local_and_metadata_addresses_are_refused(address, refused):
    why = TargetPolicy().refusal(ipaddress.ip_address(address))
    assert (why is None) if refused is None else (refused in why)


def test_the_operator_allows_chosen_networks_and_nothing_more():
    policy = TargetPolicy(["127.0.0.0/8", "fe80::/10"])
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("fe80::7")) is None
    assert "loopback" in policy.refusal(ipaddress.ip_address("::1"))
    assert "link-local" in policy.refusal(ipaddress.ip_address("169.254.169.254"))


def test_ip_literals_are_checked_without_a_resolver():
    with pytest.raises(RefusedTarget):
        TargetPolicy().check_literal("http://[::ffff:7f00:1]:8080/hooks")
    TargetPolicy().check_literal("https://shop.example/hooks")  # a name: the resolver's job
