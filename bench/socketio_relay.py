"""The same chat relay as a Python developer would write it with python-socketio and Redis.

    python bench/socketio_relay.py --port 9001 --redis-url redis://127.0.0.1:6379/0

`socketio.AsyncServer(client_manager=socketio.AsyncRedisManager(url), async_mode="aiohttp")`:
every client joins the room "bench" when it connects; a `chat` event from a client is emitted
again to the room, which the Redis manager publishes so that every instance delivers it to its
own members. Defaults everywhere else (Engine.IO pings every 25 s, the JSON module of the
standard library). `GET /healthz` answers 200. A bench-only dependency: `pip install
python-socketio` (the project's `bench` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal

import socketio
from aiohttp import web

ROOM = "bench"


def create_app(redis_url: str) -> web.Application:
    sio = socketio.AsyncServer(
        client_manager=socketio.AsyncRedisManager(redis_url),
        async_mode="aiohttp",
    )

    @sio.event
    async def connect(sid, environ, auth=None):
        await sio.enter_room(sid, ROOM)

    @sio.on("chat")
    async def chat(sid, data):
        await sio.emit("chat", data, room=ROOM)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    sio.attach(app)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(port: int, redis_url: str) -> None:
    runner = web.AppRunner(create_app(redis_url), handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"Serving on http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(serve(args.port, args.redis_url))


if __name__ == "__main__":
    main()
