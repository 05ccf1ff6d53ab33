"""A WHIP publisher in a process of its own, for tests that kill it: `python -m
tests.signaling.publisher_process URL TOKEN` prints "connected" once media flows, then runs until
killed."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from signaling.aiortc_forwarding import restrict_host_addresses

from .clients import answer, connected, local_offer, post_sdp, publisher_pc


async def main(url: str, token: str) -> None:
    restrict_host_addresses(["127.0.0.1"])
    pc = publisher_pc()
    async with aiohttp.ClientSession() as http:
        await answer(pc, await post_sdp(http, url, await local_offer(pc), token))
    await connected(pc)
    print("connected", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
