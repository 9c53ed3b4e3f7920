"""Bench-only settings: the project's settings plus `TENANT_LIMIT_SET_CALLS = True`, so the API bench
can show what that proposed change gives. Nothing else differs.

With it, django-tenants sends `SET search_path` once per request instead of before every query
(about half of an event's round trips). django-tenants 4.0.1 forgets the cached search path on
rollback and on savepoint rollback (which revert a SET), the known hazard of this flag.
"""

from config.settings import *  # noqa: F403

TENANT_LIMIT_SET_CALLS = True
