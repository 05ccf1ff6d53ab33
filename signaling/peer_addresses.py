"""Which addresses the server's ICE agent may send connectivity checks to.

Every remote candidate a client signals (in its offer, or trickled later) makes the server
send STUN checks to that address and port. Without a rule, anyone allowed to watch could make
the server probe the operator's own network: its loopback services, the cloud metadata
address, the private ranges behind it. So a candidate is kept only when its address is

- public (globally routable), or
- in a network the operator allows (LIVEROOM_ICE_PEER_NETWORKS); by default, the special
  ranges the server's own ICE addresses are in (loopback when it offers loopback, as in the
  quickstart; 10.0.0.0/8 when it offers 10.1.2.3 ...), since clients on those reach it there.

Multicast, broadcast and unspecified addresses are never kept, and the cloud metadata
addresses only when the operator's networks name them. Candidates refused here are dropped
without a word: browsers routinely signal private host candidates that a public server cannot
use anyway, and ICE still finds a peer through the checks it actually receives (a peer
reflexive candidate is the address a check came from, not one a client chose).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The special-purpose ranges (RFC 6890) an address may be in: the server allows one by
# default only when it is on it itself.
SPECIAL_RANGES: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "::1/128",  # loopback
    "169.254.0.0/16", "fe80::/10",  # link-local
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",  # private
    "100.64.0.0/10",  # shared address space (carrier-grade NAT)
    "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "2001:db8::/32",  # protocol assignments, documentation, benchmarking
    "0.0.0.0/8", "240.0.0.0/4", "::/128",  # this network, reserved, unspecified
))
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR networks (a bare address is its own /32 or /128); ValueError names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a network (CIDR, e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), else itself: checks to
    ::ffff:127.0.0.1 reach 127.0.0.1."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def ranges_of(addresses: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The special ranges these (the server's own) addresses are in."""
    found: list[IPNetwork] = []
    for text in addresses:
        try:
            address = unwrap(ipaddress.ip_address(text.split("%")[0]))
        except ValueError:
            continue
        for network in SPECIAL_RANGES:
            if address.version == network.version and address in network and (
                    network not in found):
                found.append(network)
    return tuple(found)


class PeerAddresses:
    """The rule: `allows(ip)` for each remote candidate's address."""

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        self.networks = tuple(networks)

    @classmethod
    def for_server(cls, configured: Iterable[str], own_addresses: Iterable[str]
                   ) -> PeerAddresses:
        """The operator's networks if given, else the special ranges the server is on."""
        networks = parse_networks(configured)
        return cls(networks or ranges_of(own_addresses))

    def allows(self, host: str) -> bool:
        try:
            address = unwrap(ipaddress.ip_address(host.split("%")[0]))
        except ValueError:
            return False  # a name (mDNS or other): the server resolves none
        if address.is_multicast or address.is_unspecified or (
                address == ipaddress.IPv4Address("255.255.255.255")):
            return False
        if any(address.version == n.version and address in n for n in self.networks):
            return address not in METADATA or any(
                n.prefixlen == n.max_prefixlen and address in n for n in self.networks)
        special = any(address.version == n.version and address in n for n in SPECIAL_RANGES)
        return address.is_global and not special

    def describe(self) -> str:
        extra = ", ".join(str(n) for n in self.networks)
        return "public addresses" + (f" and {extra}" if extra else " only")
