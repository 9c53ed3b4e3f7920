"""One Redis client (and connection pool) per process on the cache's Redis, for what Django's cache
API does not offer: pipelines (the API rate limit) and keys shared by every brand (routing)."""

from __future__ import annotations

import functools
import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# A request waits at most this long for Redis; what uses it has a way on without it.
REDIS_TIMEOUT_SECONDS = 2


@functools.cache
def cache_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CACHES["default"]["LOCATION"],
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


_warned_at: dict[str, float] = {}


def redis_unreachable_warn(*, what: str, error: Exception) -> None:
    """Log that `what` goes on without Redis: once a minute per process, not once per request."""
    now = time.monotonic()
    if now - _warned_at.get(what, -60.0) >= 60:
        _warned_at[what] = now
        logger.warning("Redis is unreachable (%s): %s", error.__class__.__name__, what)
