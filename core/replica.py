"""Read-only pages on the streaming replica (docs/production.md, "Streaming replica").

With DATABASE_REPLICA_URL set, config/settings.py adds the `replica` database and `ReplicaRouter`.
Code inside `replica_reads()` (a context manager, or a decorator of a view) reads from the replica;
everything else, and every write anywhere, goes to the primary (`default`). Without a replica,
`replica_reads()` changes nothing.

The replica is behind the primary by what it has not replayed yet (milliseconds, seconds under a
heavy write load): only pages that may show figures that old use it (the dashboard, exports), never
a page that reads what the same request or the one before wrote.

django-tenants sets the brand's search_path on `connection` (the default database's) only: entering
`replica_reads()` gives the replica's connection of this thread the same brand, so a read on the
replica sees the brand's schema and no other (tests/isolation/test_replica.py).

A replica that cannot be reached (down, restarting, its network cut) is not a failure of the pages
that read it: `replica_reads()` then reads the primary, as without a replica, and tries the replica
again REPLICA_RETRY_AFTER seconds later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

REPLICA = "replica"
logger = logging.getLogger(__name__)

# Per process: until when (time.monotonic()) each replica (host, port, database) that could not be
# reached is left alone, its reads on the primary.
_down_until: dict[tuple[Any, ...], float] = {}

# Per thread and per asyncio task (a view's thread under ASGI gets a copy of its request's context).
_reading: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def read_alias() -> str:
    """The database that reads go to here: the replica inside `replica_reads()` when there is one.
    For what needs the alias itself (`transaction.atomic(using=...)` around a server-side cursor)."""
    return REPLICA if _reading.get() and replica_configured() else DEFAULT_DB_ALIAS


def replica_reachable() -> bool:
    """Whether this thread's connection to the replica works, connecting if need be. One that cannot
    be reached is logged once and not tried again for REPLICA_RETRY_AFTER seconds in this process,
    so that a replica down costs one connect timeout, not one per page."""
    replica: Any = connections[REPLICA]
    where = tuple(replica.settings_dict.get(key) for key in ("HOST", "PORT", "NAME"))
    if time.monotonic() < _down_until.get(where, 0.0):
        return False
    try:
        replica.close_if_health_check_failed()  # a connection the replica's restart broke
        replica.ensure_connection()
    except OperationalError as error:
        retry = settings.REPLICA_RETRY_AFTER
        _down_until[where] = time.monotonic() + retry
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        logger.warning(
            "replica %s:%s unreachable (%s): reads on the primary for %s s", *where[:2], reason, retry
        )
        return False
    _down_until.pop(where, None)
    return True


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads of the ORM go to the replica, if there is one and it can be reached (else to the
    primary, a warning logged), in the brand `connection` is set to now."""
    if not replica_configured() or not replica_reachable():
        yield
        return
    # The tenant object itself (not only its schema): django-tenants' code reads `connection.tenant`.
    # Both are django-tenants' wrappers (tenants.postgresql_backend), unknown to the stubs.
    primary: Any = connection
    replica: Any = connections[REPLICA]
    replica.set_tenant(primary.tenant)
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    """Reads inside `replica_reads()` to the replica, all others to the primary, even of an object
    read from the replica and used after (Django would read its relations where it came from, in
    whichever brand the replica's connection was last given); writes always to the primary, for the
    same reason; no migration on the replica (it replays the primary's)."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # One database: an object read from the replica may point to one of the primary's.
        both = {obj1._state.db, obj2._state.db}
        return True if both <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        return False if db == REPLICA else None
