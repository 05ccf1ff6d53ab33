"""`liveroom serve` runs the server; `liveroom token` mints an access token for scripts;
`liveroom rooms|products|orders|log-level` talk to a running deployment (client/admin.py)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from .. import __version__, logs
from ..client import admin as admin_cli
from ..config import SETTINGS, ConfigError, with_secret
from ..domain import auth
from ..domain.errors import EngineUnavailable
from .settings import ServerSettings, settings_from

log = logging.getLogger("liveroom")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveroom", description=__doc__)
    parser.add_argument("--version", action="version", version=f"liveroom {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (LIVEROOM_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (LIVEROOM_PORT, 8080)")
    serve.add_argument("--redis-url", help="share state through this Redis (LIVEROOM_REDIS_URL); "
                       "without it one process runs everything and keeps data on disk")
    serve.add_argument("--data-dir", type=Path,
                       help="where the embedded engine keeps data (LIVEROOM_DATA_DIR, "
                       "./liveroom-data)")
    serve.add_argument("--secret", help="token signing secret (LIVEROOM_SECRET); generated and "
                       "kept in the data dir when omitted without Redis")
    serve.add_argument("--demo", action="store_true", default=None,
                       help="create the demo country rooms and print their links (LIVEROOM_DEMO)")
    serve.add_argument("--public-url", help="address users reach this server at, for links and "
                       "Origin checks (LIVEROOM_PUBLIC_URL)")
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (LIVEROOM_LOG_LEVEL)")
    serve.add_argument("--log-format", choices=("text", "json"),
                       help="text, or one JSON object per line (LIVEROOM_LOG_FORMAT, text)")

    token = commands.add_parser("token", help="print an access token")
    token.add_argument("--room", required=True, help='room id, or "*" (admin only)')
    token.add_argument("--role", required=True, choices=auth.ROLES)
    token.add_argument("--user", required=True, help="user id")
    token.add_argument("--name", help="display name")
    token.add_argument("--ttl", type=float, default=86400, help="seconds until expiry (86400)")
    token.add_argument("--secret", help="signing secret (LIVEROOM_SECRET, else the data dir's)")
    token.add_argument("--data-dir", type=Path, help="data dir holding the generated secret")

    admin_cli.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "token":
            return _token(args)
        if args.command != "serve":
            return admin_cli.run(args)
        settings = settings_from({
            "host": args.host, "port": args.port, "redis_url": args.redis_url,
            "data_dir": args.data_dir, "secret": args.secret, "demo": args.demo,
            "public_url": args.public_url, "log_level": args.log_level,
            "log_format": args.log_format,
        })
    except (ConfigError, ValueError) as exc:
        print(f"liveroom: {exc}", file=sys.stderr)
        return 2
    core = settings.core
    logs.configure(core.log_level, core.log_format, core.instance_id)
    try:
        return asyncio.run(serve(settings))
    except ConfigError as exc:  # found while starting: the data dir's secret, for one
        print(f"liveroom: {exc}", file=sys.stderr)
        return 2


def _token(args: argparse.Namespace) -> int:
    settings = with_secret(settings_from({"secret": args.secret, "data_dir": args.data_dir}).core)
    print(auth.mint(settings.signing_secret, room=args.room, role=args.role, user_id=args.user,
                    name=args.name, ttl=args.ttl))
    return 0


async def serve(server_settings: ServerSettings) -> int:
    from signaling import setup as media

    from ..addresses import CLIENT_ADDRESSES
    from .app import create_app
    from .demo import demo_links, demo_viewer_links, write_demo_links
    from .drain import drain, runner_shutdown_timeout
    from .guard import ConnectionGuard

    app = create_app(server_settings)
    settings = app[SETTINGS]  # with the generated secret filled in
    guard = ConnectionGuard(app[CLIENT_ADDRESSES], header_timeout=settings.header_timeout,
                            body_timeout=settings.body_timeout,
                            idle_timeout=settings.idle_timeout,
                            per_address=settings.connections_per_address)
    app.middlewares.insert(0, guard.middleware)  # outermost: it sees the request arrive
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=runner_shutdown_timeout(settings.drain_timeout))
    try:
        await runner.setup()
    except EngineUnavailable as exc:
        print(f"liveroom: cannot start: {exc.message}", file=sys.stderr)
        return 1
    # What start-up allocated lives as long as the process: keep the collector from rescanning
    # it (a few percent of a busy instance's CPU otherwise).
    gc.freeze()
    guard.wrap(runner)
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        print(f"liveroom: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
              file=sys.stderr)
        await runner.cleanup()
        return 1
    engine = "Redis at " + _redacted(settings.redis_url) if settings.redis_url else (
        f"embedded engine, data in {settings.data_dir}/"
    )
    banner = [f"Liveroom {__version__} ({engine}), instance {settings.instance_id}",
              f"Serving on {settings.base_url}", media.describe(app)]
    if settings.log_format == "json":  # a log collector gets nothing but JSON lines
        if settings.demo:  # and never a token: the staff links go to a private file
            banner += demo_viewer_links(settings)
            banner.append(f"demo staff links, with their tokens: {write_demo_links(settings)} "
                          "(readable by this user only)")
        for line in banner:
            log.info(line)
    else:
        if settings.demo:
            banner.append(demo_links(settings))
        print("\n".join(banner))
        sys.stdout.flush()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal: stop draining, exit now
        loop.add_signal_handler(sig, _exit_now, "a second signal while draining")
    if not await drain(app, runner):
        _exit_now("the drain deadline")
    return 0


def _redacted(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


def _exit_now(why: str) -> None:
    """Leave without waiting for anything (the event loop's own cleanup could hang too)."""
    log.warning("exiting at once: %s", why)
    logging.shutdown()
    sys.stdout.flush()
    os._exit(1)
