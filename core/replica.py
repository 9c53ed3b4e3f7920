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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

REPLICA = "replica"

# Per thread and per asyncio task (a view's thread under ASGI gets a copy of its request's context).
_reading: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def read_alias() -> str:
    """The database that reads go to here: the replica inside `replica_reads()` when there is one.
    For what needs the alias itself (`transaction.atomic(using=...)` around a server-side cursor)."""
    return REPLICA if _reading.get() and replica_configured() else DEFAULT_DB_ALIAS


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads of the ORM go to the replica, if there is one, in the brand `connection` is set to now."""
    if not replica_configured():
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
