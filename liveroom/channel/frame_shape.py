"""The shape a command frame may have, beyond being valid JSON or msgpack.

Both decoders accept frames that no command has and that would trip the code downstream: JSON
nested deep enough to exhaust Python's recursion (the decoder then raises RecursionError, not
ValueError), and msgpack maps keyed by bytes (or by bytes and strings mixed: unsortable, and not
JSON-encodable when an error names the key). Such a frame is refused as a whole with
`invalid_json` before any command code sees it, the connection kept.
"""

from __future__ import annotations

from typing import Any

from ..domain.errors import LiveroomError

# Levels of objects and arrays in one frame, the command object itself being the first. No
# command needs more than three; the margin is for clients that wrap values generously.
MAX_DEPTH = 32


def too_deep() -> LiveroomError:
    return LiveroomError(
        "invalid_json", f"the frame nests objects or arrays more than {MAX_DEPTH} levels deep")


def check_shape(message: dict[str, Any]) -> None:
    """Refuse nesting past MAX_DEPTH and map keys that are not strings (iteratively: a frame
    under the size limit can hold thousands of levels). Only containers are visited: a flat
    command costs one pass over its fields."""
    stack: list[tuple[Any, int]] = [(message, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise too_deep()
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) is not str:
                    raise LiveroomError(
                        "invalid_json", "object keys must be strings (msgpack: str, not "
                        f"{type(key).__name__})")
                if isinstance(child, (dict, list)):
                    stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in item
                         if isinstance(child, (dict, list)))
