"""The REST API tests talk to a whole app on a real port through one HTTP session."""

from __future__ import annotations

import aiohttp
import pytest


@pytest.fixture
async def api(server):
    """An HTTP session on a freshly started server (its base URL set; the server as `.srv`)."""
    srv = await server()
    session = aiohttp.ClientSession(base_url=srv.base_url)
    session.srv = srv
    yield session
    await session.close()
