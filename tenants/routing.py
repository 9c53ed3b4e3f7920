"""What routing reads on every request, the brand of a host name and the API key presented, cached
per process for as long as a token shared in Redis stays the same, and `MAX_AGE_SECONDS` at most.

Each request reads the token once (one Redis GET instead of a database query per lookup) and uses
only entries read under that very token. Every change to a brand, a domain or an API key sets a new
token (`routing_changed`), at once and again after its commit, so the next request of every process
reads the database again: a suspension, a moved domain or a revoked key applies at once, as when
every request read the database. An entry read by a request that raced a change carries the token
of before the change and is never used after it. Tokens are random, never counters. Should Redis
lose a change (it was unreachable when the change was made, or restarted from an older snapshot),
no entry outlives `MAX_AGE_SECONDS`. Without Redis, every lookup reads the database."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django_tenants.utils import get_public_schema_name

from config.redis import cache_redis, redis_available, redis_failed
from tenants.models import Brand, Domain

logger = logging.getLogger(__name__)

Value = TypeVar("Value")

# However current its token, an entry is read again after this long.
MAX_AGE_SECONDS = 30.0
# A token left alone this long goes (a new one replaces it, as after a change): the token of a test
# run or of a deployment gone does not stay in Redis for ever.
TOKEN_LIFETIME_SECONDS = 24 * 3600


def _token_key() -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:routing-token"


def routing_token() -> str | None:
    """The current token, or None (Redis unreachable or without a token yet): then nothing cached
    is used, and nothing read is kept."""
    if not redis_available():
        return None
    client = cache_redis()
    try:
        token = client.get(_token_key())
        if token is None:
            client.set(_token_key(), uuid.uuid4().hex, nx=True, ex=TOKEN_LIFETIME_SECONDS)
    except redis.RedisError as error:
        redis_failed(what="routing reads brands and API keys from the database", error=error)
        return None
    return token.decode() if token is not None else None


def routing_changed() -> None:
    """A brand, a domain or an API key changed: every process reads them again. Now, and after the
    commit, for a request that read the old row before the commit and would keep it otherwise."""
    routing_token_renew()
    transaction.on_commit(routing_token_renew, robust=True)


def routing_changes_watch(*models: type[Model]) -> None:
    """Saving or deleting a row of these models calls `routing_changed`. Updates that bypass
    `save()` (`QuerySet.update`) call it themselves."""
    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(_on_routing_row_change, sender=model, dispatch_uid=f"routing-{model._meta.label}")


def _on_routing_row_change(**_kwargs: Any) -> None:
    routing_changed()


def routing_token_renew() -> None:
    """A new token now, and this process's entries dropped: every process reads again."""
    try:
        cache_redis().set(_token_key(), uuid.uuid4().hex, ex=TOKEN_LIFETIME_SECONDS)
    except redis.RedisError:
        # The change still applies at once in this process; others keep their entries until the
        # next change reaches Redis, or MAX_AGE_SECONDS. Said loudly: an operator must know.
        logger.exception(
            "a routing change could not reach Redis: other processes may serve the old brand or key "
            "for up to %d s",
            MAX_AGE_SECONDS,
        )
    _routing_cache_clear()


class TokenCache:
    """Entries, each kept with the token it was read under and when. Found entries only (an unknown
    host or key is read each time: a flood of made-up ones must not fill the memory), at most
    `size`, none older than `max_age` seconds."""

    def __init__(self, size: int = 10_000, max_age: float = MAX_AGE_SECONDS) -> None:
        self._entries: dict[Any, tuple[str, float, Any]] = {}
        self._size = size
        self._max_age = max_age

    def get(self, key: Any, *, token: str | None) -> Any | None:
        """The entry if it is there, read under `token` and young enough; else None (nothing read)."""
        entry = self._entries.get(key)
        if token is not None and entry is not None and entry[0] == token:
            if time.monotonic() - entry[1] < self._max_age:
                return entry[2]
        return None

    def get_or_read(self, key: Any, *, token: str | None, read: Callable[[], Value | None]) -> Value | None:
        value = self.get(key, token=token)
        if value is not None:
            return value
        value = read()
        if token is not None and value is not None:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[key] = (token, time.monotonic(), value)
        return value

    def clear(self) -> None:
        self._entries.clear()


_BRANDS = TokenCache()
# Filled by core.apikeys (api_key_authenticate); cleared with the brands.
API_KEYS = TokenCache()


def _routing_cache_clear() -> None:
    _BRANDS.clear()
    API_KEYS.clear()


def brand_for_host(hostname: str, *, token: str | None) -> Brand | None:
    """The brand a verified host name serves (a copy of its own: a request sets attributes on it);
    None for an unknown or unverified one."""
    brand = _BRANDS.get_or_read(hostname, token=token, read=lambda: _brand_read(hostname))
    return copy.copy(brand) if brand is not None else None


def _brand_read(hostname: str) -> Brand | None:
    """One query on schema-qualified tables: no `SET search_path` to public first, and no ORM query
    compilation (which cost more than the rest of an API request's routing)."""
    public = connection.ops.quote_name(get_public_schema_name())
    columns = [field.attname for field in Brand._meta.concrete_fields]
    select = ", ".join(f"b.{connection.ops.quote_name(column)}" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select} FROM {public}.{Brand._meta.db_table} b "  # noqa: S608 (names, not values)
            f"JOIN {public}.{Domain._meta.db_table} d ON d.tenant_id = b.id "
            "WHERE d.domain = %s AND d.verified_at IS NOT NULL",
            [hostname],
        )
        row = cursor.fetchone()
    return Brand.from_db(connection.alias, columns, row) if row else None
