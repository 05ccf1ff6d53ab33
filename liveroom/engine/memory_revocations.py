"""The embedded engine's revocation list; see revocations.py for the guarantees. One JSON
document under data_dir, replaced atomically on every change (revocations are rare)."""

from __future__ import annotations

import json
from pathlib import Path

from ..domain.token_policy import RevocationList
from .disk import write_atomically
from .revocations import Revocations


class MemoryRevocations(Revocations):
    def __init__(self, data_dir: Path) -> None:
        self._path = Path(data_dir) / "revocations.json"
        # kind ("token" | "user") -> id -> [value, keep_until]
        self._entries: dict[str, dict[str, list[int]]] = {"token": {}, "user": {}}
        if self._path.exists():
            self._entries.update(json.loads(self._path.read_text(encoding="utf-8")))

    async def revoke_token(self, token_id: str, keep_until: int) -> None:
        self._entries["token"][token_id] = [0, keep_until]
        self._save()

    async def revoke_user(self, user_id: str, not_before: int, keep_until: int) -> None:
        value, kept = self._entries["user"].get(user_id, [0, 0])
        self._entries["user"][user_id] = [max(value, not_before), max(kept, keep_until)]
        self._save()

    async def list(self, now: int) -> RevocationList:
        for entries in self._entries.values():
            for key in [k for k, (_, keep) in entries.items() if keep <= now]:
                del entries[key]
        return RevocationList(
            tokens={k: keep for k, (_, keep) in self._entries["token"].items()},
            users={k: value for k, (value, _) in self._entries["user"].items()})

    def _save(self) -> None:
        write_atomically(self._path, json.dumps(self._entries).encode("utf-8"))
