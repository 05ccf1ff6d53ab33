"""What clients can ask of live video (publish, play, trickle candidates, stop), wherever the
request lands. Playing is always served here: a room whose media is on another instance reaches
this one's viewers through a relay leg (legs.py). Publishing runs here when this instance holds
the room's media (or nobody does), and is sent to the instance that does otherwise
(routing.py); so are a session's trickle and stop, to the instance its id names. The room
channel commands and the WHIP/WHEP endpoints both use it.
"""

from __future__ import annotations

from typing import Any

from liveroom.domain.errors import LiveroomError
from liveroom.engine import Engine

from .peers import instance_of
from .registry import Elsewhere, Registry
from .routing import Router


class MediaService:
    def __init__(self, registry: Registry, engine: Engine) -> None:
        self.registry = registry
        self.engine = engine
        self.router = Router(engine.broker, self._serve_routed)
        self.instance = registry.instance

    async def media_instance(self, room: str) -> dict[str, Any] | None:
        """The claim on the instance holding the room's media, unless it is this one, or a
        demo host that a real publisher would replace."""
        owner = await self.engine.media.owner(room)
        if owner is None or owner["instance"] == self.instance or owner.get("replaceable"):
            return None
        return owner

    def _result(self, session, answer: str) -> dict[str, Any]:
        return {"session": session.id, "answer": answer, "etag": session.etag,
                "instance": self.instance, "url": self.registry.settings.base_url}

    # --- the operations -----------------------------------------------------------------------
    async def publish(self, room: str, owner: dict[str, Any], offer: Any,
                      transport: str) -> dict[str, Any]:
        elsewhere = await self.media_instance(room)
        if elsewhere is None:
            try:
                return await self._local("publish", room=room, owner=owner, offer=offer,
                                         transport=transport)
            except Elsewhere as moved:  # a publisher claimed the room on another instance
                elsewhere = moved.claim
        return await self.router.request(elsewhere["instance"], "publish", {
            "room": room, "owner": owner, "offer": offer, "transport": transport})

    async def play(self, room: str, slot: str, owner: dict[str, Any], offer: Any,
                   transport: str) -> dict[str, Any]:
        holder = await self.engine.media.owner(room)
        if holder is None or holder["instance"] == self.instance or holder.get("leg_url"):
            return await self._local("play", room=room, slot=slot, owner=owner, offer=offer,
                                     transport=transport)
        # An origin that opens no legs (an older version, during a rolling upgrade): its
        # viewers are served there, as before legs.
        return await self.router.request(holder["instance"], "play", {
            "room": room, "slot": slot, "owner": owner, "offer": offer, "transport": transport})

    async def trickle(self, session_id: str, requester: dict[str, Any] | None,
                      candidates: list[Any], *, if_match: str | None = None,
                      ufrag: str | None = None, room: str | None = None,
                      transport: str | None = None) -> dict[str, Any]:
        return await self._to_session(session_id, "trickle", {
            "session": session_id, "requester": requester, "candidates": candidates,
            "if_match": if_match, "ufrag": ufrag, "room": room, "transport": transport})

    async def stop(self, session_id: str, requester: dict[str, Any] | None, *,
                   room: str | None = None, transport: str | None = None) -> dict[str, Any]:
        return await self._to_session(session_id, "stop", {
            "session": session_id, "requester": requester, "room": room,
            "transport": transport})

    async def _to_session(self, session_id: str, op: str, args: dict[str, Any]
                          ) -> dict[str, Any]:
        instance = instance_of(session_id)
        if instance == self.instance:
            return await self._serve(op, args)
        gone = LiveroomError("session_not_found", f"no session {session_id!r}")
        if not instance:
            raise gone
        return await self.router.request(instance, op, args, gone=gone)

    # --- run here (for a local caller, or one routed from another instance) -------------------
    async def _local(self, op: str, **args: Any) -> dict[str, Any]:
        return await self._serve(op, args)

    async def _serve(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        registry = self.registry
        if op == "publish":
            publisher, answer = await registry.publish(args["room"], args["owner"],
                                                       args["offer"], args["transport"])
            return self._result(publisher, answer)
        if op == "play":
            viewer, answer = await registry.play(args["room"], args["slot"], args["owner"],
                                                 args["offer"], args["transport"])
            return self._result(viewer, answer)
        if op == "trickle":
            await registry.trickle(args["session"], args["requester"], args["candidates"],
                                   if_match=args.get("if_match"), ufrag=args.get("ufrag"),
                                   room=args.get("room"), transport=args.get("transport"))
            return {}
        if op == "stop":
            await registry.stop(args["session"], args["requester"], room=args.get("room"),
                                transport=args.get("transport"))
            return {}
        raise LiveroomError("bad_request", f"unknown media operation {op!r}")

    async def _serve_routed(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._serve(op, args)
        except Elsewhere:
            raise LiveroomError("unavailable", "the room's video moved to another instance "
                                "meanwhile; retry") from None

    async def close(self) -> None:
        await self.router.close()
