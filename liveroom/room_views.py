"""What a room looks like from outside, right now: its record with the live state the lobby,
the REST API and the pages' first paint show (viewers, likes, the pin, the sales not ended,
whether it is live and who publishes). One reading for all of them, so they never disagree.

The pages may not reach into the engine (web/ enters rooms through the gate), so they read
rooms through this service, held on the app as ROOM_VIEWS.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .engine import Engine


class RoomViews:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def summary(self, room: dict[str, Any], viewers: int | None = None,
                      media: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The room record with its live state; None if the room is gone."""
        engine = self._engine
        snapshot = await engine.store.snapshot(room["id"])
        if snapshot is None:
            return None
        if viewers is None:
            viewers = await engine.presence.count(room["id"])
        if media is None:
            media = await engine.media.state(room["id"])
        return {
            **snapshot.room,
            "viewers": viewers,
            "likes": snapshot.likes,
            "pin": snapshot.pin,
            "slow_mode": snapshot.slow_mode,
            "sales": await engine.sales.list_sales(room["id"], active=True),
            **live(media),
            **snapshot.extra,
        }

    async def summaries(self, rooms: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Summaries of many rooms, their counts and media read in one go each."""
        ids = [r["id"] for r in rooms]
        counts = await self._engine.presence.counts(ids)
        media = await self._engine.media.states(ids)
        listed = []
        for room in rooms:
            summary = await self.summary(room, counts.get(room["id"], 0), media.get(room["id"]))
            if summary is not None:  # not deleted while we were listing
                listed.append(summary)
        return listed

    async def thumbnail(self, room: str) -> bytes | None:
        """The room's latest still (a JPEG), while it is live; see engine/media.py."""
        return await self._engine.media.thumbnail(room)


def live(state: dict[str, Any] | None) -> dict[str, Any]:
    """Live video: whether the room is live, and who publishes (engine/media.py)."""
    state = state or {"live": False, "publishers": {}}
    return {"live": state["live"], "media": state}


ROOM_VIEWS = web.AppKey("room_views", RoomViews)
