"""The core's settings: one frozen dataclass, filled from command-line flags and `LIVEROOM_*`
variables, and the reading and checking every part's settings share.

Each part keeps its own settings beside its code (the core here, live video in
signaling/config.py); liveroom/server/settings.py reads the environment once for all of them.
Precedence is flag > environment > default. A bad value stops start-up with a message that
names the setting, so an operator never has to guess which of twenty variables is wrong.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from .addresses import parse_networks
from .domain import checkout
from .files import create_private, private_dir

MIN_SECRET_CHARS = 32
# Prices are shown in the product's currency and in the viewer's, yuan by default: each rate says
# what one unit of a currency is worth in CNY. Round figures for the demo rooms' currencies.
BASE_CURRENCY = "CNY"
DEFAULT_CURRENCY_RATES = (
    ("CNY", "1"), ("THB", "0.2"), ("CLP", "0.0076"), ("NZD", "4.2"), ("EUR", "7.8"),
    ("RUB", "0.088"), ("VND", "0.00028"), ("USD", "7.2"),
)
# The second currency pages show, by the page's language (a viewer may pick another).
DEFAULT_LANGUAGE_CURRENCIES = (
    ("zh", "CNY"), ("en", "USD"), ("th", "THB"), ("es", "EUR"), ("it", "EUR"), ("ru", "RUB"),
    ("vi", "VND"),
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
MIN_CHECKOUT_SECRET_CHARS = 16
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class RedisTarget:
    """What LIVEROOM_REDIS_URL points at: one server ("single": `url` as given), the primary
    of a Sentinel-watched group ("sentinel": the sentinels' `nodes`, the group's `service`
    name and `db`), or a Redis Cluster ("cluster": some of its `nodes`)."""

    mode: str
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None


_REDIS_URL_HELP = (
    "must be redis://host:port/db (also rediss:// or unix://), "
    "redis+sentinel://host:26379,host:26379,.../service/db or "
    "redis+cluster://host:7000,host:7000,...")


def redis_target(url: str) -> RedisTarget:
    """Read a Redis URL; a ConfigError names what is wrong with it."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"redis-url (LIVEROOM_REDIS_URL): {url!r}: {why}; it "
                           + _REDIS_URL_HELP)

    scheme, sep, rest = url.partition("://")
    if not sep:
        raise bad("no scheme")
    if scheme in ("redis", "rediss", "unix"):
        return RedisTarget("single", url)
    if scheme not in ("redis+sentinel", "redis+cluster"):
        raise bad(f"unknown scheme {scheme!r}")
    mode = scheme.removeprefix("redis+")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:  # [user][:password]@, as in redis:// URLs
        user, _colon, secret = userinfo.partition(":")
        username, password = user or None, secret or None
    nodes = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise bad(f"{item.strip()!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    parts = [p for p in path.split("/") if p]
    if mode == "cluster":
        if parts:
            raise bad("a cluster has no database or service name")
        return RedisTarget(mode, url, tuple(nodes), username=username, password=password)
    if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise bad("the sentinel group's name (and optionally a database number) must follow "
                  "the hosts")
    return RedisTarget(mode, url, tuple(nodes), parts[0], int(parts[1]) if len(parts) == 2
                       else 0, username, password)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # No Redis URL means the embedded engine: one process, durable data under data_dir.
    redis_url: str | None = None
    # Every Redis key and channel starts with it, so deployments can share one Redis.
    redis_namespace: str = "lr"
    # A buy is acknowledged once its order is on at least this many replicas (Redis WAIT);
    # 0 acknowledges it once the primary has it. See deploy/configuration.md.
    redis_min_replicas: int = 0
    # How long a buy waits for those replicas before it is refused as not_replicated.
    redis_wait_timeout: float = 1.0
    data_dir: Path = Path("liveroom-data")
    secret: str | None = None
    demo: bool = False
    # Address printed in links and checked against the Origin header; derived from host/port
    # when empty.
    public_url: str = ""
    allowed_origins: tuple[str, ...] = ()
    # Room channel limits.
    history_size: int = 1000
    chat_tail: int = 50
    max_frame_bytes: int = 16 * 1024
    chat_max_chars: int = 500
    send_buffer_bytes: int = 1024 * 1024
    commands_per_second: float = 20.0
    chat_per_second: float = 1.0
    chat_burst: int = 5
    buys_per_second: float = 5.0
    # Likes one identity may add per second (channel/allowances.py); guests from one client
    # address share this many times one identity's chat and like rates.
    likes_per_second: float = 20.0
    guest_address_rate: float = 5.0
    # Flash sales: how long an unpaid reservation holds its units before they return.
    reservation_ttl: float = 900.0
    # Presence: an instance refreshes its rows every heartbeat; rows of an instance silent for
    # presence_ttl seconds no longer count.
    heartbeat_interval: float = 2.0
    presence_ttl: float = 6.0
    log_level: str = "INFO"
    # "text" for a terminal, "json" (one object per line) for a log collector.
    log_format: str = "text"
    # Operator limits; 0 means no limit on connections.
    max_connections: int = 0
    max_room_connections: int = 0
    max_body_bytes: int = 256 * 1024
    # A request or command the engine has not answered by then is refused as unavailable.
    request_timeout: float = 10.0
    # On SIGTERM: seconds to finish in-flight work, move clients elsewhere and exit.
    drain_timeout: float = 20.0
    # Currency conversion for display: (ISO 4217 code, CNY per unit as a decimal string) pairs,
    # CNY included. A flash sale copies the rates in force when it is created (sales.py).
    currency_rates: tuple[tuple[str, str], ...] = DEFAULT_CURRENCY_RATES
    # (language code, currency code): the currency a page in that language converts to.
    language_currencies: tuple[tuple[str, str], ...] = DEFAULT_LANGUAGE_CURRENCIES
    # Shopping: where a buyer pays a reserved order (a URL template, see domain/checkout.py)
    # and the secret its signature is made with; where a guest signs in to buy.
    checkout_url: str | None = None
    checkout_secret: str | None = None
    signin_url: str | None = None
    # Networks webhooks may be sent to although they are refused by default (loopback,
    # link-local, metadata...; see webhooks/targets.py), as CIDRs or single addresses.
    webhook_allowed_networks: tuple[str, ...] = ()
    # The load balancers whose X-Forwarded-For / Forwarded are believed (addresses.py), as
    # CIDRs or single addresses; none by default, so the client is the TCP peer.
    trusted_proxies: tuple[str, ...] = ()
    # The header they put the client's address in: "x-forwarded-for" or "forwarded".
    forwarded_header: str = "x-forwarded-for"
    # Slow and idle clients (server/guard.py): seconds for a new connection's first request
    # head, for a request's whole body, and for the next request on a kept-alive connection.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    # Open connections from one client address (TCP connections from one peer that is not a
    # trusted proxy; room-channel connections per client address); 0 means no limit.
    connections_per_address: int = 100
    # The longest life a token may be given (exp - iat, and exp - now when checked); tokens
    # made for longer are refused.
    max_token_lifetime: float = 30 * 86400.0
    instance_id: str = field(default_factory=lambda: secrets.token_hex(6))

    @property
    def signing_secret(self) -> str:
        """The secret tokens are signed with: given, or filled in by with_secret() before the
        app is made, so it is always there once serving."""
        if not self.secret:
            raise ConfigError("no token signing secret (LIVEROOM_SECRET) was set")
        return self.secret

    @property
    def rates(self) -> dict[str, str]:
        """Currency code -> CNY per unit, as decimal strings (what pages and sales carry)."""
        return dict(self.currency_rates)

    def currency_for(self, lang: str) -> str:
        """The currency pages in `lang` show prices in beside the product's own: yuan for a
        language without one, or whose currency has no rate."""
        code = dict(self.language_currencies).get(lang, BASE_CURRENCY)
        return code if code in self.rates else BASE_CURRENCY

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


SETTINGS = web.AppKey("settings", Settings)


# setting -> (environment variable, parser). Flags use the same names with dashes.
Variables = dict[str, tuple[str, Callable[[str], Any]]]

VARIABLES: Variables = {
    "host": ("LIVEROOM_HOST", str),
    "port": ("LIVEROOM_PORT", int),
    "redis_url": ("LIVEROOM_REDIS_URL", str),
    "redis_namespace": ("LIVEROOM_REDIS_NAMESPACE", str),
    "redis_min_replicas": ("LIVEROOM_REDIS_MIN_REPLICAS", int),
    "redis_wait_timeout": ("LIVEROOM_REDIS_WAIT_TIMEOUT", float),
    "data_dir": ("LIVEROOM_DATA_DIR", Path),
    "secret": ("LIVEROOM_SECRET", str),
    "demo": ("LIVEROOM_DEMO", lambda v: parse_bool("LIVEROOM_DEMO", v)),
    "public_url": ("LIVEROOM_PUBLIC_URL", str),
    "allowed_origins": (
        "LIVEROOM_ALLOWED_ORIGINS",
        lambda v: tuple(o.strip().rstrip("/") for o in v.split(",") if o.strip()),
    ),
    "history_size": ("LIVEROOM_HISTORY_SIZE", int),
    "max_frame_bytes": ("LIVEROOM_MAX_FRAME_BYTES", int),
    "send_buffer_bytes": ("LIVEROOM_SEND_BUFFER_BYTES", int),
    "chat_max_chars": ("LIVEROOM_CHAT_MAX_CHARS", int),
    "commands_per_second": ("LIVEROOM_COMMANDS_PER_SECOND", float),
    "chat_per_second": ("LIVEROOM_CHAT_PER_SECOND", float),
    "chat_burst": ("LIVEROOM_CHAT_BURST", int),
    "buys_per_second": ("LIVEROOM_BUYS_PER_SECOND", float),
    "likes_per_second": ("LIVEROOM_LIKES_PER_SECOND", float),
    "guest_address_rate": ("LIVEROOM_GUEST_ADDRESS_RATE", float),
    "reservation_ttl": ("LIVEROOM_RESERVATION_TTL", float),
    "heartbeat_interval": ("LIVEROOM_HEARTBEAT_INTERVAL", float),
    "presence_ttl": ("LIVEROOM_PRESENCE_TTL", float),
    "log_level": ("LIVEROOM_LOG_LEVEL", str),
    "log_format": ("LIVEROOM_LOG_FORMAT", str),
    "max_connections": ("LIVEROOM_MAX_CONNECTIONS", int),
    "max_room_connections": ("LIVEROOM_MAX_ROOM_CONNECTIONS", int),
    "max_body_bytes": ("LIVEROOM_MAX_BODY_BYTES", int),
    "request_timeout": ("LIVEROOM_REQUEST_TIMEOUT", float),
    "drain_timeout": ("LIVEROOM_DRAIN_TIMEOUT", float),
    "currency_rates": ("LIVEROOM_CURRENCY_RATES", lambda v: parse_currency_rates(v)),
    "language_currencies": (
        "LIVEROOM_LANGUAGE_CURRENCIES", lambda v: parse_language_currencies(v)),
    "checkout_url": ("LIVEROOM_CHECKOUT_URL", str),
    "checkout_secret": ("LIVEROOM_CHECKOUT_SECRET", str),
    "signin_url": ("LIVEROOM_SIGNIN_URL", str),
    "webhook_allowed_networks": ("LIVEROOM_WEBHOOK_ALLOWED_NETWORKS", lambda v: csv(v)),
    "trusted_proxies": ("LIVEROOM_TRUSTED_PROXIES", lambda v: csv(v)),
    "forwarded_header": ("LIVEROOM_FORWARDED_HEADER", lambda v: v.strip().lower()),
    "header_timeout": ("LIVEROOM_HEADER_TIMEOUT", float),
    "body_timeout": ("LIVEROOM_BODY_TIMEOUT", float),
    "idle_timeout": ("LIVEROOM_IDLE_TIMEOUT", float),
    "connections_per_address": ("LIVEROOM_CONNECTIONS_PER_ADDRESS", int),
    "max_token_lifetime": ("LIVEROOM_MAX_TOKEN_LIFETIME", float),
}


def csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def parse_currency_rates(value: str) -> tuple[tuple[str, str], ...]:
    """"THB=0.2,CLP=0.0076" -> (("CNY", "1"), ("THB", "0.2"), ("CLP", "0.0076")).

    The value replaces the defaults (so an operator sees exactly the rates they set); CNY is
    always 1, whether given or not."""
    rates: dict[str, str] = {BASE_CURRENCY: "1"}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        code, sep, amount = item.partition("=")
        code, amount = code.strip().upper(), amount.strip()
        if not sep or not _CURRENCY.match(code):
            raise ConfigError(
                f"currency-rates (LIVEROOM_CURRENCY_RATES): {item!r} is not CODE=RATE with a "
                "three-letter ISO 4217 code, e.g. THB=0.2"
            )
        rates[code] = _rate(code, amount)
    return tuple(rates.items())


def parse_language_currencies(value: str) -> tuple[tuple[str, str], ...]:
    """"th=THB,ru=RUB" -> (("th", "THB"), ("ru", "RUB")); languages not named show yuan."""
    pairs: dict[str, str] = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        lang, sep, code = (part.strip() for part in item.partition("="))
        if not sep or not _LANGUAGE.match(lang) or not _CURRENCY.match(code.upper()):
            raise ConfigError(
                f"language-currencies (LIVEROOM_LANGUAGE_CURRENCIES): {item!r} is not "
                "LANGUAGE=CODE, e.g. th=THB")
        pairs[lang] = code.upper()
    return tuple(pairs.items())


def _rate(code: str, amount: str) -> str:
    try:
        rate = Decimal(amount)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or rate <= 0:
        raise ConfigError(
            f"currency-rates (LIVEROOM_CURRENCY_RATES): the rate of {code}, {amount!r}, is not "
            "a positive number (CNY per unit)"
        )
    if code == BASE_CURRENCY and rate != 1:
        raise ConfigError(
            "currency-rates (LIVEROOM_CURRENCY_RATES): CNY is the base currency, its rate is 1"
        )
    return format(rate, "f")  # "1e2" -> "100": a plain decimal the browsers parse alike


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


Part = TypeVar("Part")


def read_part(cls: Callable[..., Part], variables: Variables, environ: Mapping[str, str],
              overrides: Mapping[str, Any]) -> Part:
    """One part's settings: its variables from `environ`, then `overrides` (flags; None is
    "not given"). Checking them is the caller's: a part may be checked against another."""
    values: dict[str, Any] = {}
    for name, (var, parse) in variables.items():
        raw = environ.get(var)
        if raw is None or raw == "":
            continue
        try:
            values[name] = parse(raw)
        except ConfigError:
            raise
        except ValueError as exc:
            raise ConfigError(f"{var}: {exc}") from None
    values.update((name, value) for name, value in overrides.items() if value is not None)
    return cls(**values)


def must_be_positive(settings: Any, variables: Variables, *names: str) -> None:
    for name in names:
        if getattr(settings, name) <= 0:
            var = variables[name][0] if name in variables else "not configurable"
            raise ConfigError(f"{name.replace('_', '-')} ({var}) must be positive")


def validate(settings: Settings) -> None:
    if not 0 <= settings.port <= 65535:
        raise ConfigError(f"port (LIVEROOM_PORT): {settings.port} is not a TCP port")
    if settings.redis_url is not None:
        redis_target(settings.redis_url)  # raises ConfigError, naming what is wrong
    if settings.redis_min_replicas < 0:
        raise ConfigError("redis-min-replicas (LIVEROOM_REDIS_MIN_REPLICAS) must be 0 or more")
    must_be_positive(settings, VARIABLES, "redis_wait_timeout")
    if not _NAMESPACE.fullmatch(settings.redis_namespace):
        raise ConfigError(
            f"redis-namespace (LIVEROOM_REDIS_NAMESPACE): {settings.redis_namespace!r} must be 1 "
            "to 32 letters, digits, '-', '_' or '.'"
        )
    if settings.redis_url and not settings.secret:
        raise ConfigError(
            "secret (LIVEROOM_SECRET) is required with a Redis URL: every instance must sign "
            "and check tokens with the same secret"
        )
    if settings.secret is not None and len(settings.secret) < MIN_SECRET_CHARS:
        # HS256 wants a key at least as long as its hash (RFC 7518, section 3.2).
        raise ConfigError(
            f"secret (LIVEROOM_SECRET) must be at least {MIN_SECRET_CHARS} characters"
        )
    if settings.presence_ttl < 2 * settings.heartbeat_interval:
        raise ConfigError(
            "presence-ttl (LIVEROOM_PRESENCE_TTL) must be at least twice the heartbeat interval"
        )
    must_be_positive(settings, VARIABLES, "history_size", "max_frame_bytes", "send_buffer_bytes",
                     "chat_tail", "chat_max_chars", "commands_per_second", "chat_per_second",
                     "chat_burst", "buys_per_second", "reservation_ttl", "likes_per_second",
                     "guest_address_rate")
    _validate_operations(settings)
    # Rates given as a setting object (tests, embedders) get the same checks as the variable.
    parse_currency_rates(",".join(f"{c}={r}" for c, r in settings.currency_rates))
    _validate_shopping(settings)
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(
            f"log-level (LIVEROOM_LOG_LEVEL): {settings.log_level!r} is not one of "
            "DEBUG, INFO, WARNING, ERROR"
        )


def _validate_operations(settings: Settings) -> None:
    if settings.log_format not in ("text", "json"):
        raise ConfigError(
            f"log-format (LIVEROOM_LOG_FORMAT): {settings.log_format!r} is not one of text, json"
        )
    for name, var in (("max_connections", "LIVEROOM_MAX_CONNECTIONS"),
                      ("max_room_connections", "LIVEROOM_MAX_ROOM_CONNECTIONS"),
                      ("connections_per_address", "LIVEROOM_CONNECTIONS_PER_ADDRESS")):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name.replace('_', '-')} ({var}) must be 0 (no limit) or more")
    must_be_positive(settings, VARIABLES, "max_body_bytes", "request_timeout", "drain_timeout",
                     "header_timeout", "body_timeout", "idle_timeout", "max_token_lifetime")
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"trusted-proxies (LIVEROOM_TRUSTED_PROXIES): {exc}") from None
    if settings.forwarded_header not in ("x-forwarded-for", "forwarded"):
        raise ConfigError(
            f"forwarded-header (LIVEROOM_FORWARDED_HEADER): {settings.forwarded_header!r} is "
            "not one of x-forwarded-for, forwarded")
    for network in settings.webhook_allowed_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(
                f"webhook-allowed-networks (LIVEROOM_WEBHOOK_ALLOWED_NETWORKS): {network!r} is "
                "not an IP network (e.g. 127.0.0.0/8) or address"
            ) from None


def _validate_shopping(settings: Settings) -> None:
    for name, var, template, allowed in (
            ("checkout-url", "LIVEROOM_CHECKOUT_URL", settings.checkout_url,
             checkout.CHECKOUT_PLACEHOLDERS),
            ("signin-url", "LIVEROOM_SIGNIN_URL", settings.signin_url,
             checkout.SIGNIN_PLACEHOLDERS)):
        if not template:
            continue
        if not template.startswith(("https://", "http://")):
            raise ConfigError(f"{name} ({var}): {template!r} must be an http:// or https:// URL")
        unknown = checkout.placeholders(template) - allowed
        if unknown:
            raise ConfigError(f"{name} ({var}): unknown placeholder(s) "
                              f"{', '.join('{' + p + '}' for p in sorted(unknown))}; use "
                              f"{', '.join('{' + p + '}' for p in sorted(allowed))}")
    if settings.checkout_url:
        if "order" not in checkout.placeholders(settings.checkout_url):
            raise ConfigError("checkout-url (LIVEROOM_CHECKOUT_URL) must contain {order}")
        if "signature" in checkout.placeholders(settings.checkout_url) and (
                len(settings.checkout_secret or "") < MIN_CHECKOUT_SECRET_CHARS):
            raise ConfigError(
                f"checkout-secret (LIVEROOM_CHECKOUT_SECRET) of at least "
                f"{MIN_CHECKOUT_SECRET_CHARS} characters is required to sign {{signature}} in "
                "LIVEROOM_CHECKOUT_URL")


def with_secret(settings: Settings) -> Settings:
    """Fill in the secret for the embedded engine: generated once, kept in data_dir.

    With Redis the operator must give one (validate() says so); on a laptop a generated secret
    that survives restarts means tokens printed yesterday still work today. The data dir is
    made private (files.py); a secret file shorter than the minimum is refused, never used.
    """
    if settings.secret:
        return settings
    path = private_dir(settings.data_dir) / "secret"
    secret = (path.read_text(encoding="utf-8") if path.exists()
              else create_private(path, secrets.token_urlsafe(32))).strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"the token signing secret in {path} has {len(secret)} characters; at least "
            f"{MIN_SECRET_CHARS} are needed. Delete the file to have a new one generated "
            "(tokens signed with the old one stop working), or give one with LIVEROOM_SECRET"
        )
    return replace(settings, secret=secret)
