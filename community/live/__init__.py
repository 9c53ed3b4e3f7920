"""Live help's Redis side (README "Community > Live help"): who is online, and the pokes that wake
the open streams. Nothing here is kept in the database; every key carries the brand's schema (the
cache's tenant-aware key function), so a helper of brand A is never online on brand B.

Presence: one sorted set per brand, helper id -> the time of their last heartbeat. A helper is
online while that time is fresher than PRESENCE_SECONDS; counting them is one ZCOUNT, cheap enough
for the status every page of the site asks.

Pokes: a Redis pub/sub channel per conversation (a message, a state change) and one per brand for
the helpers' queue. A poke carries no data: the streams read the database, which stays the one
truth (a held message is never sent, a missed poke costs one heartbeat's delay)."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import connection, transaction

PRESENCE_SECONDS = 30
# How often a helper's page says it is still there (well inside PRESENCE_SECONDS).
HEARTBEAT_SECONDS = 10


def _redis():
    """The cache's own Redis client (the cache is django.core.cache.backends.redis)."""
    return cache._cache.get_client(write=True)  # type: ignore[attr-defined]


def key(name: str) -> str:
    """`name` as a key of the current brand (its schema and the cache's prefix)."""
    return cache.make_key(f"community:live:{name}")


def conversation_channel(conversation_id: int) -> str:
    return key(f"conversation:{conversation_id}")


def queue_channel() -> str:
    return key("queue")


def presence_beat(*, helper_id: int, now: float | None = None, refresh_only: bool = False) -> None:
    """Helper `helper_id` is online for PRESENCE_SECONDS from now. `refresh_only`: only if they are
    online already (a stream's heartbeat never brings back a helper who went offline meanwhile)."""
    now = time.time() if now is None else now
    presence = key("online")
    with _redis().pipeline() as pipe:
        pipe.zadd(presence, {str(helper_id): now}, xx=refresh_only)
        pipe.zremrangebyscore(presence, "-inf", now - PRESENCE_SECONDS)
        pipe.expire(presence, PRESENCE_SECONDS * 2)
        pipe.execute()


def presence_leave(*, helper_id: int) -> None:
    _redis().zrem(key("online"), str(helper_id))


def helpers_online(*, now: float | None = None) -> list[int]:
    """The ids of the helpers whose heartbeat is fresh."""
    now = time.time() if now is None else now
    ids = _redis().zrangebyscore(key("online"), now - PRESENCE_SECONDS, "+inf")
    return [int(value) for value in ids]


def online_count(*, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return int(_redis().zcount(key("online"), now - PRESENCE_SECONDS, "+inf"))


def poke_after_commit(*channels: str) -> None:
    """Wake the streams listening on `channels` once the transaction has committed (a stream woken
    before would read the database without the change)."""
    schema = connection.schema_name

    def send() -> None:
        client = _redis()
        for channel in channels:
            client.publish(channel, schema)

    transaction.on_commit(send)
