"""Brands on the streaming replica (core.replica): django-tenants sets a brand's search_path on the
primary's connection only, and `replica_reads()` gives the replica's the same brand, so brand B's
dashboard read on the replica counts B's rows alone, its audit trail's CSV lists B's entries alone,
and a thread reading A then B on the replica sees each one's own. A real replica
(platform/replica.py), committed brands."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from core.replica import REPLICA, replica_reads
from loyalty.models import LedgerEntry, Member
from tests.conftest import brand_make
from tests.factories import member_make
from tests.support import dashboard_figures, platform_module, replica_served

replicas = platform_module("replica")


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    with replica_served(django_db_blocker) as running:
        yield running


@pytest.fixture
def other_brand(fresh_brand):
    """A second committed brand of the test's own, dropped after it."""
    brand = brand_make(f"{fresh_brand.slug}-b")
    yield brand
    connection.set_schema_to_public()
    brand.delete(force_drop=True)


def _figures(staff) -> dict[str, str]:
    return dashboard_figures(staff, "liability", "members")


def test_brand_bs_dashboard_on_the_replica_counts_only_brand_bs_rows(
    replica, fresh_brand, other_brand, staff_for
):
    brand_a, brand_b = fresh_brand, other_brand
    connection.set_tenant(brand_a)
    for points in (1_000, 2_000, 4_000):
        member_make(points=points)
    connection.set_tenant(brand_b)
    member_make(points=25)
    replicas.replica_catch_up(replica)

    staff_b, staff_a = staff_for(brand_b), staff_for(brand_a)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        b_figures = _figures(staff_b)
    assert any("loyalty_member" in query["sql"] for query in on_replica.captured_queries)
    assert (b_figures["Outstanding points (sum of the balances)"], b_figures["Members in total"]) == (
        "25",
        "1",
    )
    a_figures = _figures(staff_a)
    assert (a_figures["Outstanding points (sum of the balances)"], a_figures["Members in total"]) == (
        "7000",
        "3",
    )
    # The same thread, B again right after A: the replica's connection follows the brand.
    assert _figures(staff_b) == b_figures


def test_one_thread_reading_brand_a_then_brand_b_on_the_replica_sees_each_ones_own(
    replica, fresh_brand, other_brand
):
    connection.set_tenant(fresh_brand)
    a_ids = {member_make(points=10).external_id for _ in range(2)}
    connection.set_tenant(other_brand)
    b_ids = {member_make(points=20).external_id}
    replicas.replica_catch_up(replica)

    for brand, ids, points in ((fresh_brand, a_ids, 20), (other_brand, b_ids, 20), (fresh_brand, a_ids, 20)):
        connection.set_tenant(brand)
        with replica_reads(), CaptureQueriesContext(connections[REPLICA]) as on_replica:
            assert set(Member.objects.values_list("external_id", flat=True)) == ids
            assert sum(LedgerEntry.objects.values_list("points", flat=True)) == points
        assert len(on_replica.captured_queries) >= 2
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SHOW search_path")
            assert cursor.fetchone()[0].split(",")[0].strip() == brand.schema_name


def test_brand_bs_audit_trail_streamed_from_the_replica_lists_only_brand_bs_entries(
    replica, fresh_brand, other_brand, staff_for
):
    for brand in (fresh_brand, other_brand):
        connection.set_tenant(brand)
        AuditEntry.objects.create(at=timezone.now(), action="create", via="api", object_repr=brand.slug)
    replicas.replica_catch_up(replica)
    staff_a, staff_b = staff_for(fresh_brand), staff_for(other_brand)
    for staff, brand in ((staff_b, other_brand), (staff_a, fresh_brand), (staff_b, other_brand)):
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            response = staff.get(reverse("admin:core_auditentry_export"))
            rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert any("core_auditentry" in query["sql"] for query in on_replica.captured_queries)
        assert [row["object"] for row in rows if row["via"] == "api"] == [brand.slug]
