"""The REST API tests talk to a whole app on a real port through one HTTP session."""

from __future__ import annotations

import aiohttp
import pytest


@pytest.fixture
async def api(server):
    """An HTTP session on a freshly started server (its base URL set; the server as `.srv`)."""
    # The shop's webhook receivers in these tests listen on this machine, where webhooks are
    # not sent unless the operator allows it.
    srv = await server(webhook_allowed_networks=("127.0.0.0/8",))
    session = aiohttp.ClientSession(base_url=srv.base_url)
    session.srv = srv
    yield session
    await session.close()
