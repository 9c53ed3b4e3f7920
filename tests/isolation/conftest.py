"""Every isolation test runs with connections ended as soon as they have served a second brand
schema (DATABASE_SCHEMAS_PER_CONNECTION=1, tenants/postgresql_backend): the web servers and workers
these tests start serve each brand on a connection that may be new, and must still serve it alone."""

import pytest


@pytest.fixture(autouse=True)
def _connections_recycled(settings):
    settings.DATABASE_SCHEMAS_PER_CONNECTION = 1
