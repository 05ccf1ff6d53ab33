"""Clients of a running deployment, for shop backends and operators' scripts: the room channel
client (`RoomClient`) and the admin commands over the REST API (`admin`). They import only the
domain, so a shop backend can use them without the server's dependencies (aiortc, the engine).
"""

from .room import ChannelClosed, CommandError, RoomClient

__all__ = ["ChannelClosed", "CommandError", "RoomClient"]
