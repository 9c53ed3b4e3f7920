"""The sweep of every brand: it finds the schemas holding rows due in a few statements, however
many brands there are, and visits only those."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import get_public_schema_name

import catalog.tasks  # noqa: F401 - registers the service pushes' outbox, as the worker does
from core.tasks import outbox_sweep_all_task
from tenants.models import Brand
from tests.conftest import brand_make

pytestmark = pytest.mark.slow


def test_an_idle_sweep_of_every_brand_asks_two_statements(fresh_brand):
    other = brand_make(f"t-{uuid.uuid4().hex[:10]}")
    try:
        connection.set_schema_to_public()
        assert Brand.objects.exclude(schema_name=get_public_schema_name()).count() >= 2
        with CaptureQueriesContext(connection) as queries:
            assert outbox_sweep_all_task() == 0
        # The brands, then one look at all their outboxes (before: a look in each brand's schema).
        assert len(queries) == 2, [query["sql"][:200] for query in queries]
    finally:
        connection.set_schema_to_public()
        other.delete(force_drop=True)
