"""The revocation list's guarantees (liveroom/engine/revocations.py), checked on both engines."""

from __future__ import annotations

from liveroom.domain import auth
from liveroom.domain.token_policy import RevocationList
from liveroom.engine import create_engine

NOW = 1_900_000_000


def _identity(user: str, *, jti: str | None = None, iat: int | None = NOW - 10) -> auth.Identity:
    return auth.Identity(user, user, "moderator", "thailand", expires_at=NOW + 3600,
                         issued_at=iat, token_id=jti)


async def test_a_revoked_token_is_listed_until_it_would_have_expired(engine):
    await engine.revocations.revoke_token("t-1", keep_until=NOW + 60)
    listed = await engine.revocations.list(NOW)
    assert listed.revokes(_identity("ann", jti="t-1"))
    assert not listed.revokes(_identity("ann", jti="t-2"))
    assert (await engine.revocations.list(NOW + 61)).tokens == {}  # gone by itself


async def test_a_user_not_before_cuts_off_only_tokens_issued_before_it(engine):
    await engine.revocations.revoke_user("mod", not_before=NOW, keep_until=NOW + 600)
    listed = await engine.revocations.list(NOW)
    assert listed.revokes(_identity("mod", iat=NOW - 1))
    assert listed.revokes(_identity("mod", iat=None))  # cannot show it is newer
    assert not listed.revokes(_identity("mod", iat=NOW + 1))  # a token made afterwards
    assert not listed.revokes(_identity("ann", iat=NOW - 1))


async def test_not_before_only_moves_forward(engine):
    await engine.revocations.revoke_user("mod", not_before=NOW, keep_until=NOW + 600)
    await engine.revocations.revoke_user("mod", not_before=NOW - 500, keep_until=NOW + 100)
    assert (await engine.revocations.list(NOW)).users == {"mod": NOW}
    assert (await engine.revocations.list(NOW + 300)).users == {"mod": NOW}


async def test_every_instance_reads_the_same_list_and_it_survives_a_restart(
        engine_kind, make_settings):
    """Two instances on Redis; on the embedded engine, the same one after a restart."""
    settings = make_settings(engine_kind).core
    first = create_engine(settings)
    await first.start()
    await first.revocations.revoke_token("t-9", keep_until=NOW + 60)
    await first.revocations.revoke_user("mod", not_before=NOW, keep_until=NOW + 60)
    if engine_kind == "memory":
        await first.close()
    second = create_engine(settings)
    await second.start()
    try:
        assert await second.revocations.list(NOW) == RevocationList(
            tokens={"t-9": NOW + 60}, users={"mod": NOW})
    finally:
        await second.close()
        if engine_kind == "redis":
            await first.close()
