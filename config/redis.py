"""One Redis client (and connection pool) per process on the cache's Redis, for what Django's cache
API does not offer: pipelines (the API rate limit) and keys shared by every brand (routing).

What uses it has a way on without Redis (routing reads the database, the rate limit lets requests
through). After a failure, a process does not ask Redis again for `REDIS_RETRY_SECONDS`: a Redis
that drops packets instead of refusing would otherwise cost every request its timeout."""

from __future__ import annotations

import functools
import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5
REDIS_RETRY_SECONDS = 10.0

_down_until = 0.0
_warned_at: dict[str, float] = {}


@functools.cache
def cache_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CACHES["default"]["LOCATION"],
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def redis_available() -> bool:
    """False for a while after a failure (`redis_failed`): go on without Redis meanwhile."""
    return time.monotonic() >= _down_until


def redis_failed(*, what: str, error: Exception) -> None:
    """Redis failed: skip it for `REDIS_RETRY_SECONDS`, and log that `what` goes on without it (once
    a minute per process and message, not once per request)."""
    global _down_until
    now = time.monotonic()
    _down_until = now + REDIS_RETRY_SECONDS
    if now - _warned_at.get(what, -60.0) >= 60:
        _warned_at[what] = now
        logger.warning("Redis is unreachable (%s): %s", error.__class__.__name__, what)
