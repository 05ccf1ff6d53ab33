"""Display names: what a person may be called in a room, and when two names are the same.

A name stands beside everything its owner says, so it must read as what it is. Bidirectional
overrides and isolates (which reorder the text around them: "‮gnp.exe" shows as "exe.png") are
dropped; control characters and line breaks are refused; so is a name with nothing visible in it
once markup tags are set aside (zero-width characters only, `<b></b>`, an `<img ...>`), since a
client that shows it as text shows a blank or a tag and nothing of the person.

Two names are the same when they read the same: compared after NFKC normalisation (full-width
and compatibility forms), case folding, and without spaces or invisible characters. A room
reserves the names of its staff (see reserved_name_keys), so that a guest cannot speak as the
host.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .errors import LiveroomError

MAX_NAME_CHARS = 40
# Embeddings, overrides, isolates and marks of Unicode's bidirectional algorithm.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")
MARKUP_TAG = re.compile(r"<[^<>]*>")
# Letters, marks, numbers, punctuation and symbols: what shows on a screen.
VISIBLE_CATEGORIES = frozenset("LMNPS")


def _invalid(field: str, message: str) -> LiveroomError:
    return LiveroomError("invalid_field", f"{field}: {message}", field=field)


def check_display_name(value: object, field: str = "name") -> str:
    """The name as it will be shown (bidi controls dropped, trimmed), or invalid_field."""
    if not isinstance(value, str):
        raise _invalid(field, "must be a string")
    name = "".join(ch for ch in value if ch not in BIDI_CONTROLS).strip()
    if not name:
        raise _invalid(field, "must not be empty or only whitespace")
    if len(name) > MAX_NAME_CHARS:
        raise _invalid(field, f"must be at most {MAX_NAME_CHARS} characters, got {len(name)}")
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise _invalid(field, f"must be one line without control characters "
                                  f"(U+{ord(ch):04X})")
    shown = MARKUP_TAG.sub("", name)
    if not any(unicodedata.category(ch)[0] in VISIBLE_CATEGORIES for ch in shown):
        raise _invalid(field, "must have a visible character outside markup tags")
    return name


def name_key(name: str) -> str:
    """What a name reads as: two names with the same key cannot be told apart on a screen."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded
                   if not ch.isspace() and unicodedata.category(ch)[0] != "C")


def reserved_name_keys(room: dict, staff_names: Iterable[str | None]) -> set[str]:
    """The name keys a guest may not take in a room: its host's, and its staff's."""
    names = [room.get("host_name"), *staff_names]
    return {key for key in (name_key(n) for n in names if n) if key}
