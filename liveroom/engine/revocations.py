"""Revocations: the list of cut-off tokens every instance reads (domain/token_policy.py).

Guarantees every implementation keeps (tests/engine/test_revocation_contract.py checks them):
- what one instance revokes, every instance reads in its next `list()`;
- an entry is kept until `keep_until` (unix seconds): a token's own expiry, or, for a user's
  "not before", as long as a token issued before it could still be valid; then it goes by
  itself, so the list stays as small as the set of tokens it must stop;
- the list survives a restart (the embedded engine keeps it under data_dir).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..domain.token_policy import RevocationList


class Revocations(ABC):
    @abstractmethod
    async def revoke_token(self, token_id: str, keep_until: int) -> None:
        """Cut off the token with this `jti`."""

    @abstractmethod
    async def revoke_user(self, user_id: str, not_before: int, keep_until: int) -> None:
        """Cut off every token of this user issued before `not_before` (unix seconds); a
        later call with an earlier moment does not move it back."""

    @abstractmethod
    async def list(self, now: int) -> RevocationList:
        """Every entry still kept at `now`."""
