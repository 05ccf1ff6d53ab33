"""Redis revocation list; see revocations.py for the guarantees.

Two hashes, `<ns>:revoked:tokens` (jti -> keep_until) and `<ns>:revoked:users` (user ->
"not_before:keep_until"). They are not a room's, so they carry no room hash tag. Lapsed
entries are removed by whoever lists them; a user's "not before" only moves forward
(`lua/revoke_user.lua`, so two operators revoking at once cannot move it back).
"""

from __future__ import annotations

from redis.asyncio import Redis

from ..domain.token_policy import RevocationList
from .redis_errors import unavailable_on_failure
from .redis_keys import Keyspace
from .revocations import Revocations

# Atomic "move forward": the later not-before and the later keep-until win.
_REVOKE_USER = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
local nb, keep = tonumber(ARGV[2]), tonumber(ARGV[3])
if old then
  local sep = string.find(old, ':')
  nb = math.max(nb, tonumber(string.sub(old, 1, sep - 1)))
  keep = math.max(keep, tonumber(string.sub(old, sep + 1)))
end
redis.call('HSET', KEYS[1], ARGV[1], nb .. ':' .. keep)
return 1
"""


class RedisRevocations(Revocations):
    def __init__(self, redis: Redis, keyspace: Keyspace) -> None:
        self._redis = redis
        self._tokens = f"{keyspace.namespace}:revoked:tokens"
        self._users = f"{keyspace.namespace}:revoked:users"
        self._revoke_user = redis.register_script(_REVOKE_USER)

    @unavailable_on_failure
    async def revoke_token(self, token_id: str, keep_until: int) -> None:
        await self._redis.hset(self._tokens, token_id, keep_until)

    @unavailable_on_failure
    async def revoke_user(self, user_id: str, not_before: int, keep_until: int) -> None:
        await self._revoke_user(keys=[self._users], args=[user_id, not_before, keep_until])

    @unavailable_on_failure
    async def list(self, now: int) -> RevocationList:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._tokens)
            pipe.hgetall(self._users)
            raw_tokens, raw_users = await pipe.execute()
        tokens, users, lapsed_tokens, lapsed_users = {}, {}, [], []
        for key, keep in raw_tokens.items():
            key = _text(key)
            if int(keep) <= now:
                lapsed_tokens.append(key)
            else:
                tokens[key] = int(keep)
        for key, value in raw_users.items():
            key = _text(key)
            not_before, _, keep = _text(value).partition(":")
            if int(keep) <= now:
                lapsed_users.append(key)
            else:
                users[key] = int(not_before)
        if lapsed_tokens:
            await self._redis.hdel(self._tokens, *lapsed_tokens)
        if lapsed_users:
            await self._redis.hdel(self._users, *lapsed_users)
        return RevocationList(tokens=tokens, users=users)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
