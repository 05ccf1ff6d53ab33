"""Where a request comes from: the client's address, as far as this server may believe it.

Directly connected, the client is the TCP peer. Behind a load balancer the peer is the
balancer, and the client is what it forwards in the one header the operator names
(LIVEROOM_FORWARDED_HEADER: `X-Forwarded-For`, as nginx sets it, or `Forwarded: for=`, RFC
7239). Anybody can send those headers, so they are believed only from the operator's proxies
(LIVEROOM_TRUSTED_PROXIES, networks; none by default), and only the named one: a proxy passes
the other through untouched, so reading it would let a client choose its address. The
forwarded list is read from the right, each trusted hop skipped: the first address not among
the proxies is the client, so a client cannot pass off an address by prepending it.

Every per-address limit (connections, chat, guests' media sessions) asks here, so they all
follow one rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs or single addresses; ValueError names the bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP network (e.g. 10.0.0.0/8) or address"
                             ) from None
    return tuple(networks)


def _address(value: str | None) -> Address | None:
    if not value:
        return None
    value = value.strip().strip('"')
    if value.startswith("["):  # Forwarded: for="[2001:db8::1]:4711"
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # 192.0.2.1:4711
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientAddresses:
    """The one rule for "which address is this client?"."""

    def __init__(self, trusted_proxies: Iterable[str] = (),
                 header: str = "x-forwarded-for") -> None:
        self._proxies = parse_networks(trusted_proxies)
        self._header = header.lower()

    def is_proxy(self, peer: str | None) -> bool:
        """Whether a TCP peer is one of the operator's proxies (whose forwarding is believed,
        and whose many connections are not one client's)."""
        address = _address(peer)
        return address is not None and any(address in net for net in self._proxies)

    def resolve(self, peer: str | None, forwarded: str | None,
                x_forwarded_for: str | None) -> str | None:
        """The client's address given the TCP peer and the forwarding headers it sent."""
        if not self._proxies or not self.is_proxy(peer):
            return _normal(peer)
        hops = (_forwarded_for(forwarded or "") if self._header == "forwarded"
                else _x_forwarded_for(x_forwarded_for))
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                # "unknown", an obfuscated name, garbage: nothing to the left of it can be
                # trusted, and this hop is what the nearest trusted proxy saw.
                return hop.strip()[:64] or "unknown"
            if not any(address in net for net in self._proxies):
                return str(address)
        # Every hop is a proxy of ours: the leftmost is as far as the chain goes.
        first = _address(hops[0]) if hops else None
        return str(first) if first is not None else _normal(peer)

    def of_request(self, request: web.BaseRequest) -> str | None:
        return self.resolve(_peer(request), request.headers.get("Forwarded"),
                            request.headers.get("X-Forwarded-For"))


def _peer(request: web.BaseRequest) -> str | None:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, (tuple, list)) and peer:
        return str(peer[0])
    return request.remote


def _normal(peer: str | None) -> str | None:
    address = _address(peer)
    return str(address) if address is not None else peer


def _forwarded_for(header: str) -> list[str]:
    hops = []
    for element in header.split(","):
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.strip().lower() == "for":
                hops.append(value.strip())
    return hops


def _x_forwarded_for(header: str | None) -> list[str]:
    return [hop.strip() for hop in (header or "").split(",") if hop.strip()]


CLIENT_ADDRESSES = web.AppKey("client_addresses", ClientAddresses)
