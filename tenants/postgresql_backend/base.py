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
"""

from __future__ import annotations

import select

from django_tenants.postgresql_backend import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
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
