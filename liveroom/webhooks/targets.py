"""Where webhooks may go: not into the server's own machine or its cloud's metadata service.

A webhook URL is set by the operator but its host name can point anywhere, and can be made to
point elsewhere later (DNS changes; "rebinding" answers one address to the check and another to
the connection). So an address is checked twice: when the webhook is configured (its host must
resolve, to allowed addresses only) and on every delivery, where the HTTP client's resolver
itself refuses (`GuardedResolver`): the connection goes to the very addresses that were checked.
An IP literal in the URL never reaches a resolver, so the dispatcher checks it before sending.

Refused unless the operator allows them (LIVEROOM_WEBHOOK_ALLOWED_NETWORKS): loopback,
link-local (169.254.0.0/16, fe80::/10: where clouds serve instance credentials), the cloud
metadata addresses outside those, unspecified (0.0.0.0 reaches this machine), multicast and
reserved addresses, and IPv4 addresses wrapped in IPv6. Private ranges are allowed: a shop system
on the deployment's own network is the usual receiver.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Iterable

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services that are not link-local: AWS over IPv6, Alibaba Cloud, Oracle.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "fd00:ec2::254", "100.100.100.200", "192.0.0.192"))


class RefusedTarget(Exception):
    """A webhook URL or address that must not be sent to; the message says why."""


class TargetPolicy:
    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        self.allowed: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in allowed_networks)

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` is refused, or None if a webhook may go there."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed):
            return None
        for kind, hit in (
            ("a loopback address", address.is_loopback),
            ("a cloud metadata address", address in METADATA),
            ("a link-local address", address.is_link_local),
            ("an unspecified address (this machine)", address.is_unspecified),
            ("a multicast address", address.is_multicast),
            ("a reserved address", address.is_reserved),
        ):
            if hit:
                return kind
        return None

    def check_address(self, host: str, address: str) -> None:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0
        why = self.refusal(ip)
        if why is not None:
            shown = host if host == address else f"{host} resolves to {address}, which"
            raise RefusedTarget(f"{shown} is {why}; webhooks are not sent there unless "
                                "LIVEROOM_WEBHOOK_ALLOWED_NETWORKS allows it")

    def check_literal(self, url: str) -> None:
        """Refuse a URL whose host is a refused IP address (no resolver sees those)."""
        host = URL(url).host or ""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a name: the resolver checks it on every connection
        self.check_address(host, host)

    async def check_url(self, url: str) -> None:
        """At configuration: an http(s) URL whose host resolves, to allowed addresses only."""
        parsed = URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise RefusedTarget("must be an http:// or https:// URL with a host")
        self.check_literal(url)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parsed.host, parsed.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise RefusedTarget(f"the host {parsed.host} does not resolve ({exc})") from None
        for *_rest, sockaddr in infos:
            self.check_address(parsed.host, str(sockaddr[0]))


class GuardedResolver(AbstractResolver):
    """The HTTP client's resolver for webhooks: answers only allowed addresses, and fails the
    connection when a name resolves to a refused one."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = await self._resolver.resolve(host, port, family)
        for answer in answers:
            try:
                self._policy.check_address(host, answer["host"])
            except RefusedTarget as refused:
                # aiohttp reports it as a failed connection, quoting the strerror.
                raise OSError(errno.EACCES, str(refused)) from None
        return answers

    async def close(self) -> None:
        await self._resolver.close()


def client_session(policy: TargetPolicy) -> aiohttp.ClientSession:
    """The HTTP client webhooks are sent with: every name it connects to is checked."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=GuardedResolver(policy)))
