"""A WHEP player in a process of its own, for tests that kill it: `python -m
tests.signaling.player_process URL` prints its session's URL path once connected, then plays
until killed."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from signaling.aiortc_forwarding import restrict_host_addresses

from .clients import answer, connected, local_offer, post_sdp, viewer_pc


async def main(url: str) -> None:
    restrict_host_addresses(["127.0.0.1"])
    pc = viewer_pc()
    async with aiohttp.ClientSession() as http:
        response = await post_sdp(http, url, await local_offer(pc))
        await answer(pc, response)
    await connected(pc)
    print(response.headers["Location"], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
