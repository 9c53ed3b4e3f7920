"""django-tenants' backend (a search_path per brand), less two statements per request.

- `SET search_path` is sent again only when the schema changes. django-tenants forgets the path
  on every `set_tenant`, so each request paid a statement to set what was already set. What undoes
  a SET (a rollback, a rollback to a savepoint, a closed connection) still makes it forgotten
  (django-tenants' `rollback`, `savepoint_rollback` and `close`).
- The health check at a request's start (CONN_HEALTH_CHECKS) looks at the socket before sending
  `SELECT 1`: an idle connection the server closed or is closing has something to read (its
  farewell, then the end of the stream), one in good health has nothing. A connection dropped
  silently on the way (no FIN) passes it and fails at the request's first query, which Django then
  closes: `SELECT 1` would have waited for the same timeout.
- The list of tables that migrations read (`introspection.get_table_list`, once or more per schema
  migrated) comes from the schemas on the search_path through the catalog's indexes. Django's query
  reads the whole of `pg_class` and asks for each row whether it is visible: 200 ms with 350 brands
  (260,000 relations), 1.6 ms this way, whatever the number of brands (README "A thousand brands").
- A web process's statement timeout is set by a SET on each new connection: PgBouncer refuses the
  `options` startup parameter that would carry it.
- A connection that has served more than DATABASE_SCHEMAS_PER_CONNECTION brand schemas is ended
  where Django ends a spent one (at the end of a request or a task, never inside a transaction), a
  pooled one too (closed, not given back): its PostgreSQL backend keeps in its caches every
  relation of every schema it touched, and would grow with the brands it serves for its lifetime.
"""

from __future__ import annotations

import select
import weakref

from django.conf import settings
from django.db.backends.postgresql.introspection import TableInfo
from django_tenants.postgresql_backend import base
from django_tenants.postgresql_backend.introspection import (
    DatabaseSchemaIntrospection,
    DatabaseSchemaIntrospectionSearchPathContext,
)
from psycopg.pq import TransactionStatus

# Django's query of its get_table_list, from the relations that depend on a schema of the search_path
# (a table, a view, a sequence depends on its schema: pg_depend's index on the referenced object).
_TABLES_ON_THE_PATH = """
SELECT c.relname,
       CASE WHEN c.relispartition THEN 'p' WHEN c.relkind IN ('m', 'v') THEN 'v' ELSE 't' END,
       obj_description(c.oid, 'pg_class')
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class c ON c.oid = d.objid
WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_namespace'::regclass
  AND d.refobjid IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ANY (current_schemas(false)))
  AND d.deptype = 'n' AND c.relkind IN ('f', 'm', 'p', 'r', 'v') AND pg_catalog.pg_table_is_visible(c.oid)
"""


class Introspection(DatabaseSchemaIntrospection):
    def get_table_list(self, cursor):
        with DatabaseSchemaIntrospectionSearchPathContext(cursor=cursor, connection=self.connection):
            cursor.execute(_TABLES_ON_THE_PATH)
            return [TableInfo(*row) for row in cursor.fetchall() if row[0] not in self.ignored_tables]


# The schemas each open PostgreSQL connection has had on its search_path (gone with the connection).
_schemas_served: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.introspection = Introspection(self)

    def _configure_connection(self, connection) -> bool:
        """Once per new PostgreSQL connection (pooled or not): Django's time zone and role, then a web
        process's statement timeout (DATABASE_STATEMENT_TIMEOUT, config/settings.py). Whether a
        commit must follow, as Django's."""
        commit = super()._configure_connection(connection)
        if settings.DATABASE_STATEMENT_TIMEOUT_MS > 0:
            with connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(settings.DATABASE_STATEMENT_TIMEOUT_MS)}")
            commit = True
        return commit

    def _handle_search_path(self, cursor=None) -> None:
        # Recorded when the path is set, not at every cursor: a query's hot path stays a test.
        setting = self.search_path_set_schemas is None
        super()._handle_search_path(cursor)
        if setting and self.connection is not None:
            _schemas_served.setdefault(self.connection, set()).add(self.schema_name)

    def schemas_served(self) -> int:
        """How many schemas the current PostgreSQL connection has served."""
        return len(_schemas_served.get(self.connection, ())) if self.connection is not None else 0

    def _spent(self) -> bool:
        limit = settings.DATABASE_SCHEMAS_PER_CONNECTION
        return bool(limit) and not self.in_atomic_block and self.schemas_served() > limit

    def close(self) -> None:
        if self.connection is not None and self._spent():
            if self.pool is not None:
                # Given back past its expiry, the pool closes it and opens another (psycopg_pool's
                # own field, as DATABASE_POOL_MAX_LIFETIME sets it): a closed one would be logged
                # as a broken connection at each renewal.
                self.connection._expire_at = float("-inf")
            else:
                self.connection.close()
        super().close()

    def close_if_unusable_or_obsolete(self) -> None:
        if self.connection is not None and self._spent():
            self.close()
            return
        super().close_if_unusable_or_obsolete()

    def set_tenant(self, tenant, include_public: bool = True) -> None:
        already_set = self.search_path_set_schemas
        super().set_tenant(tenant, include_public)
        if already_set is not None and already_set == self._get_cursor_search_paths():
            self.search_path_set_schemas = already_set

    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        if self.connection.info.transaction_status == TransactionStatus.IDLE:
            poller = select.poll()  # not select.select(): it refuses descriptors past 1023
            poller.register(self.connection.fileno(), select.POLLIN)
            if not poller.poll(0):
                return True
        return super().is_usable()
