"""All of an instance's settings, read from the environment and the flags once: the core's
(liveroom/config.py) and live video's (signaling/config.py), each part checked by its own rules.
A setting's name is unique over all parts, so a flag or an override finds its part by name."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from signaling import config as media_config
from signaling.config import MediaSettings

from .. import config as core_config
from ..config import ConfigError, Settings, Variables, read_part

# part name -> (its settings class, its variables, its check)
PARTS: dict[str, tuple[type, Variables, Callable[[Any], None]]] = {
    "core": (Settings, core_config.VARIABLES, core_config.validate),
    "media": (MediaSettings, media_config.VARIABLES, media_config.validate),
}
_OWNER = {f.name: part for part, (cls, _v, _c) in PARTS.items()
          for f in dataclasses.fields(cls)}


@dataclass(frozen=True)
class ServerSettings:
    core: Settings = field(default_factory=Settings)
    media: MediaSettings = field(default_factory=MediaSettings)

    def replace(self, **changes: Any) -> ServerSettings:
        """A copy with settings changed, each in the part that owns it."""
        by_part: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            by_part.setdefault(owner_of(name), {})[name] = value
        return dataclasses.replace(self, **{
            part: dataclasses.replace(getattr(self, part), **values)
            for part, values in by_part.items()})


def owner_of(name: str) -> str:
    if name not in _OWNER:
        raise ConfigError(f"unknown setting {name!r}")
    return _OWNER[name]


def variables() -> dict[str, str]:
    """Every setting's environment variable, all parts together."""
    return {name: var for _cls, table, _check in PARTS.values()
            for name, (var, _parse) in table.items()}


def settings_from(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> ServerSettings:
    """Every part's settings from the environment, then the overrides (flags)."""
    environ = os.environ if environ is None else environ
    by_part: dict[str, dict[str, Any]] = {part: {} for part in PARTS}
    for name, value in (overrides or {}).items():
        by_part[owner_of(name)][name] = value
    parts = {}
    for part, (cls, table, check) in PARTS.items():
        parts[part] = read_part(cls, table, environ, by_part[part])
        check(parts[part])
    return ServerSettings(**parts)
