"""Cutting tokens off: the longest life a token may have, and the revocation list.

A signed token is good until its `exp` wherever the secret is known, so the server adds two
ways to stop one sooner without rotating the secret:

- a maximum lifetime (LIVEROOM_MAX_TOKEN_LIFETIME): a token made to live longer (exp - iat),
  or with longer left to live (exp - now, for tokens minted without iat), is refused, so a
  leaked "forever" token is worth nothing;
- a revocation list, shared by every instance through the engine: a token by its id (`jti`),
  or every token of a user issued before a moment ("not before"). Entries are kept only as
  long as the tokens they stop could still be valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import Identity
from .errors import LiveroomError


def check_lifetime(identity: Identity, max_lifetime: float, now: float) -> None:
    """Refuse a token that lives longer than the server allows."""
    if identity.expires_at is None:
        return
    lifetime: float = identity.expires_at - (
        identity.issued_at if identity.issued_at is not None else now)
    if lifetime > max_lifetime or identity.expires_at - now > max_lifetime:
        raise LiveroomError(
            "invalid_token",
            f"the access token lives longer than this server allows ({max_lifetime:g} s); "
            "ask for one with a shorter expiry")


@dataclass
class RevocationList:
    """What the engine holds: token id -> its expiry, user id -> not-before (unix seconds)."""

    tokens: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def revokes(self, identity: Identity) -> bool:
        if identity.token_id is not None and identity.token_id in self.tokens:
            return True
        not_before = self.users.get(identity.user_id)
        if not_before is None:
            return False
        # A token without iat cannot show it came after the cut: it is cut off too.
        return identity.issued_at is None or identity.issued_at < not_before

    def check(self, identity: Identity) -> None:
        if self.revokes(identity):
            raise LiveroomError("token_revoked", "this access token has been revoked")

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"tokens": dict(self.tokens), "users": dict(self.users)}
