"""The leanest chat relay one can write with aiohttp and Redis pub/sub: the stack's own ceiling.

    python bench/lean_relay.py --port 9001 --redis-url redis://127.0.0.1:6379/0

`GET /ws` is a WebSocket. A text frame from any client is PUBLISHed as is to one Redis channel;
one pub/sub listener task per process writes every message it receives to every socket of this
process with `await ws.send_str(data)`, one socket after the other. No auth, no validation, no
history, no heartbeat, no per-socket queue: whatever a real server adds costs more than this.
`GET /healthz` answers 200 once the listener is subscribed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal

from aiohttp import WSMsgType, web
from redis.asyncio import Redis

CHANNEL = "bench:relay"
SOCKETS = web.AppKey("sockets", set)
REDIS = web.AppKey("redis", Redis)
SUBSCRIBED = web.AppKey("subscribed", asyncio.Event)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    sockets, redis = request.app[SOCKETS], request.app[REDIS]
    sockets.add(ws)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await redis.publish(CHANNEL, msg.data)
    finally:
        sockets.discard(ws)
    return ws


async def healthz(request: web.Request) -> web.Response:
    if not request.app[SUBSCRIBED].is_set():
        return web.Response(status=503, text="not subscribed yet")
    return web.Response(text="ok")


async def listen(app: web.Application) -> None:
    sockets = app[SOCKETS]
    pubsub = app[REDIS].pubsub()
    await pubsub.subscribe(CHANNEL)
    app[SUBSCRIBED].set()
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        data = message["data"].decode()
        for ws in list(sockets):
            try:
                await ws.send_str(data)
            except ConnectionError:
                pass  # the socket is closing; its handler removes it


async def relay_ctx(app: web.Application):
    app[REDIS] = Redis.from_url(app["redis_url"])
    listener = asyncio.create_task(listen(app))
    yield
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    await app[REDIS].aclose()


def create_app(redis_url: str) -> web.Application:
    app = web.Application()
    app["redis_url"] = redis_url
    app[SOCKETS] = set()
    app[SUBSCRIBED] = asyncio.Event()
    app.cleanup_ctx.append(relay_ctx)
    app.router.add_get("/ws", websocket)
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
