"""Settings: one frozen dataclass, filled from command-line flags and `LIVEROOM_*` variables.

Precedence is flag > environment > default. A bad value stops start-up with a message that
names the setting, so an operator never has to guess which of twenty variables is wrong.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from aiohttp import web

MIN_SECRET_CHARS = 32
# Prices are shown in the product's currency and in the viewer's, yuan by default: each rate says
# what one unit of a currency is worth in CNY. Round figures for the demo rooms' currencies.
BASE_CURRENCY = "CNY"
DEFAULT_CURRENCY_RATES = (
    ("CNY", "1"), ("THB", "0.2"), ("CLP", "0.0076"), ("NZD", "4.2"), ("EUR", "7.8"),
    ("RUB", "0.088"), ("VND", "0.00028"), ("USD", "7.2"),
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # No Redis URL means the embedded engine: one process, durable data under data_dir.
    redis_url: str | None = None
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
    # Live video (signaling/). STUN/TURN URLs handed to browsers; TURN ones get time-limited
    # credentials from turn_secret (coturn's static-auth-secret).
    ice_servers: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl: float = 86400.0
    # Addresses the server offers host candidates on; empty: loopback when listening on
    # loopback, else every interface's but loopback (signaling.ice_addresses).
    ice_addresses: tuple[str, ...] = ()
    # A peer connection that has not connected after ice_timeout is closed; a publisher whose
    # media stops for media_timeout is offline.
    ice_timeout: float = 15.0
    media_timeout: float = 5.0
    max_peers: int = 500
    # Signaling for a room whose media is on another instance: "route" it there through the
    # engine, or answer WHIP/WHEP with a 307 "redirect" to that instance's public URL.
    media_routing: str = "route"
    # With --demo, each demo room gets a synthetic host streaming a test card.
    demo_video: bool = True
    # Decode and re-encode for every viewer instead of forwarding (benchmark comparison only).
    media_transcode: bool = False
    # Currency conversion for display: (ISO 4217 code, CNY per unit as a decimal string) pairs,
    # CNY included. A flash sale copies the rates in force when it is created (sales.py).
    currency_rates: tuple[tuple[str, str], ...] = DEFAULT_CURRENCY_RATES
    instance_id: str = field(default_factory=lambda: secrets.token_hex(6))

    @property
    def rates(self) -> dict[str, str]:
        """Currency code -> CNY per unit, as decimal strings (what pages and sales carry)."""
        return dict(self.currency_rates)

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


SETTINGS = web.AppKey("settings", Settings)


# name -> (environment variable, parser). Flags use the same names with dashes.
_ENV = {
    "host": ("LIVEROOM_HOST", str),
    "port": ("LIVEROOM_PORT", int),
    "redis_url": ("LIVEROOM_REDIS_URL", str),
    "data_dir": ("LIVEROOM_DATA_DIR", Path),
    "secret": ("LIVEROOM_SECRET", str),
    "demo": ("LIVEROOM_DEMO", lambda v: _parse_bool("LIVEROOM_DEMO", v)),
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
    "ice_servers": ("LIVEROOM_ICE_SERVERS", lambda v: _csv(v)),
    "turn_secret": ("LIVEROOM_TURN_SECRET", str),
    "turn_ttl": ("LIVEROOM_TURN_TTL", float),
    "ice_addresses": ("LIVEROOM_ICE_ADDRESSES", lambda v: _csv(v)),
    "ice_timeout": ("LIVEROOM_ICE_TIMEOUT", float),
    "media_timeout": ("LIVEROOM_MEDIA_TIMEOUT", float),
    "max_peers": ("LIVEROOM_MAX_PEERS", int),
    "media_routing": ("LIVEROOM_MEDIA_ROUTING", str),
    "demo_video": ("LIVEROOM_DEMO_VIDEO", lambda v: _parse_bool("LIVEROOM_DEMO_VIDEO", v)),
    "media_transcode": (
        "LIVEROOM_MEDIA_TRANSCODE", lambda v: _parse_bool("LIVEROOM_MEDIA_TRANSCODE", v)
    ),
    "currency_rates": ("LIVEROOM_CURRENCY_RATES", lambda v: parse_currency_rates(v)),
}


def _csv(value: str) -> tuple[str, ...]:
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


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def settings_from(overrides: dict | None = None, environ: dict | None = None) -> Settings:
    """Build settings from the environment, then apply explicit overrides (flags)."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    for name, (var, parse) in _ENV.items():
        raw = environ.get(var)
        if raw is None or raw == "":
            continue
        try:
            values[name] = parse(raw)
        except ConfigError:
            raise
        except ValueError as exc:
            raise ConfigError(f"{var}: {exc}") from None
    known = {f.name for f in fields(Settings)}
    for name, value in (overrides or {}).items():
        if name not in known:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = value
    settings = Settings(**values)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    if not 0 <= settings.port <= 65535:
        raise ConfigError(f"port (LIVEROOM_PORT): {settings.port} is not a TCP port")
    if settings.redis_url is not None and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise ConfigError(
            f"redis-url (LIVEROOM_REDIS_URL): {settings.redis_url!r} must start with "
            "redis://, rediss:// or unix://"
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
    for name in ("history_size", "max_frame_bytes", "send_buffer_bytes", "chat_tail",
                 "chat_max_chars", "commands_per_second", "chat_per_second", "chat_burst",
                 "buys_per_second", "reservation_ttl"):
        if getattr(settings, name) <= 0:
            var = _ENV[name][0] if name in _ENV else "not configurable"
            raise ConfigError(f"{name.replace('_', '-')} ({var}) must be positive")
    _validate_media(settings)
    _validate_operations(settings)
    # Rates given as a setting object (tests, embedders) get the same checks as the variable.
    parse_currency_rates(",".join(f"{c}={r}" for c, r in settings.currency_rates))
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(
            f"log-level (LIVEROOM_LOG_LEVEL): {settings.log_level!r} is not one of "
            "DEBUG, INFO, WARNING, ERROR"
        )


def _validate_media(settings: Settings) -> None:
    for url in settings.ice_servers:
        scheme = url.split(":", 1)[0]
        if scheme not in ("stun", "stuns", "turn", "turns") or ":" not in url:
            raise ConfigError(
                f"ice-servers (LIVEROOM_ICE_SERVERS): {url!r} is not a stun:, stuns:, turn: or "
                "turns: URL"
            )
        if scheme.startswith("turn") and not settings.turn_secret:
            raise ConfigError(
                f"turn-secret (LIVEROOM_TURN_SECRET) is required for the TURN server {url!r}: "
                "credentials are minted from it (coturn's static-auth-secret)"
            )
    for address in settings.ice_addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(
                f"ice-addresses (LIVEROOM_ICE_ADDRESSES): {address!r} is not an IP address"
            ) from None
    if settings.media_routing not in ("route", "redirect"):
        raise ConfigError(
            f"media-routing (LIVEROOM_MEDIA_ROUTING): {settings.media_routing!r} is not one of "
            "route, redirect"
        )
    for name, var in (("turn_ttl", "LIVEROOM_TURN_TTL"), ("ice_timeout", "LIVEROOM_ICE_TIMEOUT"),
                      ("media_timeout", "LIVEROOM_MEDIA_TIMEOUT"),
                      ("max_peers", "LIVEROOM_MAX_PEERS")):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name.replace('_', '-')} ({var}) must be positive")


def _validate_operations(settings: Settings) -> None:
    if settings.log_format not in ("text", "json"):
        raise ConfigError(
            f"log-format (LIVEROOM_LOG_FORMAT): {settings.log_format!r} is not one of text, json"
        )
    for name, var in (("max_connections", "LIVEROOM_MAX_CONNECTIONS"),
                      ("max_room_connections", "LIVEROOM_MAX_ROOM_CONNECTIONS")):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name.replace('_', '-')} ({var}) must be 0 (no limit) or more")
    for name, var in (("max_body_bytes", "LIVEROOM_MAX_BODY_BYTES"),
                      ("request_timeout", "LIVEROOM_REQUEST_TIMEOUT"),
                      ("drain_timeout", "LIVEROOM_DRAIN_TIMEOUT")):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name.replace('_', '-')} ({var}) must be positive")


def with_secret(settings: Settings) -> Settings:
    """Fill in the secret for the embedded engine: generated once, kept in data_dir.

    With Redis the operator must give one (validate() says so); on a laptop a generated secret
    that survives restarts means tokens printed yesterday still work today.
    """
    if settings.secret:
        return settings
    path = settings.data_dir / "secret"
    if path.exists():
        return replace(settings, secret=path.read_text().strip())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return replace(settings, secret=secret)
