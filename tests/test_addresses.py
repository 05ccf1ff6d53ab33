"""The one rule for a client's address (liveroom/addresses.py)."""

from __future__ import annotations

from liveroom.addresses import ClientAddresses


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards():
    addresses = ClientAddresses()
    assert addresses.resolve("192.0.2.7", None, "203.0.113.1") == "192.0.2.7"
    assert addresses.resolve("192.0.2.7", "for=203.0.113.1", None) == "192.0.2.7"


def test_a_trusted_proxy_forwards_the_client_address():
    addresses = ClientAddresses(["10.0.0.0/8"])
    assert addresses.resolve("10.1.2.3", None, "203.0.113.1") == "203.0.113.1"
    rfc7239 = ClientAddresses(["10.0.0.0/8"], "forwarded")
    assert rfc7239.resolve("10.1.2.3", 'for="[2001:db8::1]:4711";proto=https', None) == (
        "2001:db8::1")
    assert rfc7239.resolve("10.1.2.3", "for=192.0.2.60:8080", None) == "192.0.2.60"
    # A peer outside the trusted networks is believed about nothing.
    assert addresses.resolve("192.0.2.7", None, "203.0.113.1") == "192.0.2.7"


def test_a_client_cannot_choose_its_address_by_prepending_one():
    """nginx appends the address it saw: only the rightmost untrusted hop is believed."""
    addresses = ClientAddresses(["10.0.0.0/8"])
    assert addresses.resolve("10.1.2.3", None, "1.2.3.4, 203.0.113.1") == "203.0.113.1"
    # Chained proxies of ours are skipped from the right.
    assert addresses.resolve("10.1.2.3", None, "1.2.3.4, 203.0.113.1, 10.9.9.9") == (
        "203.0.113.1")
    # Nothing forwarded: the proxy is all there is.
    assert addresses.resolve("10.1.2.3", None, None) == "10.1.2.3"


def test_only_the_header_the_proxy_sets_is_read():
    """nginx sets X-Forwarded-For and passes a client's own Forwarded header through: read
    that, and a client would choose its address."""
    nginx = ClientAddresses(["10.0.0.0/8"])
    assert nginx.resolve("10.1.2.3", "for=1.2.3.4", "203.0.113.1") == "203.0.113.1"
    rfc7239 = ClientAddresses(["10.0.0.0/8"], "forwarded")
    assert rfc7239.resolve("10.1.2.3", "for=203.0.113.1", "1.2.3.4") == "203.0.113.1"


def test_ipv4_mapped_peers_are_their_ipv4_address():
    assert ClientAddresses().resolve("::ffff:192.0.2.7", None, None) == "192.0.2.7"
    assert ClientAddresses(["192.0.2.0/24"]).is_proxy("::ffff:192.0.2.7")
