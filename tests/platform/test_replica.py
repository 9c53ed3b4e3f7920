"""The read-only pages on a real streaming replica (core.replica, platform/replica.py): the settings a
DATABASE_REPLICA_URL makes; the dashboard's and an export's reads on the replica, and only what it
has replayed; writes on the primary, even of an object read from the replica; a write sent to the
replica itself refused. The replica copies the whole cluster, so its data must be committed
(`live_db`, a fresh brand)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.jobs import job_run
from core.models import AuditEntry, Job
from core.replica import REPLICA, replica_reads
from core.storage import private_storage
from loyalty.exports import export_start
from loyalty.models import Member
from tests.factories import member_make
from tests.support import dashboard_figures, platform_module, replica_served

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv/bin/python")


replicas = platform_module("replica")


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    with replica_served(django_db_blocker) as running:
        yield running


def _on_replica(replica, sql: str):
    with psycopg.connect(f"host=127.0.0.1 port={replica.port} user=postgres dbname=postgres") as standby:
        return standby.execute(sql).fetchone()


def _liability_csv(staff) -> dict[str, str]:
    return dashboard_figures(staff, "liability")


OUTSTANDING = "Outstanding points (sum of the balances)"


def _settings_with(env: dict[str, str]) -> dict:
    code = """
import json
import django
django.setup()
from django.conf import settings
from django.db import router
from django.test.utils import get_unique_databases_and_mirrors
others = [alias for alias in settings.DATABASES if alias != "default"]
APPS = ("tenants", "loyalty", "core")
print(json.dumps({
    "databases": settings.DATABASES,
    "routers": settings.DATABASE_ROUTERS,
    "mirrors": get_unique_databases_and_mirrors()[1],
    "migrate": sorted({str(router.allow_migrate(alias, app)) for alias in others for app in APPS}),
}))
"""
    base = {key: value for key, value in os.environ.items() if key != "DATABASE_REPLICA_URL"}
    done = subprocess.run(
        [PY, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_a_replica_url_adds_the_replica_like_the_primary_never_migrated_nor_created_by_tests():
    alone = _settings_with({})
    assert list(alone["databases"]) == ["default"]
    assert alone["routers"] == ["django_tenants.routers.TenantSyncRouter"]

    url = "postgres://reader:secret@10.0.0.7:5433/loyalty?sslmode=require"
    both = _settings_with({"DATABASE_REPLICA_URL": url})
    primary, replica = both["databases"]["default"], both["databases"]["replica"]
    assert (replica["HOST"], replica["PORT"], replica["USER"], replica["NAME"]) == (
        "10.0.0.7",
        5433,
        "reader",
        "loyalty",
    )
    assert replica["ENGINE"] == primary["ENGINE"] == "tenants.postgresql_backend"
    assert replica["OPTIONS"] == {**primary["OPTIONS"], "sslmode": "require"}
    assert both["routers"] == ["core.replica.ReplicaRouter", "django_tenants.routers.TenantSyncRouter"]
    assert both["mirrors"] == {"replica": "default"}  # the tests create no database there
    assert both["migrate"] == ["False"]  # nor does migrate touch it


def test_the_dashboard_reads_the_replica_and_shows_what_it_replayed(replica, fresh_brand, staff_for):
    connection.set_tenant(fresh_brand)
    member_make(points=300)
    replicas.replica_catch_up(replica)
    staff = staff_for(fresh_brand)

    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connection) as on_primary,
    ):
        page = staff.get("/backoffice/dashboard/")
    assert page.status_code == 200
    for table in ("loyalty_ledgerentry", "backoffice_ledgermonth"):  # the ORM's reads, the raw SQL's
        assert any(table in query["sql"] for query in on_replica.captured_queries), table
        assert not any(table in query["sql"] for query in on_primary.captured_queries), table
    assert _liability_csv(staff)[OUTSTANDING] == "300"

    # Replay paused: a credit committed on the primary is not on the replica's page yet...
    _on_replica(replica, "SELECT pg_wal_replay_pause()")
    try:
        connection.set_tenant(fresh_brand)
        member_make(points=45)
        assert _liability_csv(staff)[OUTSTANDING] == "300"
    finally:
        _on_replica(replica, "SELECT pg_wal_replay_resume()")
    # ...and is once the replica has caught up.
    replicas.replica_catch_up(replica)
    assert _liability_csv(staff)[OUTSTANDING] == "345"


def test_an_export_reads_the_replica(replica, fresh_brand):
    connection.set_tenant(fresh_brand)
    first = member_make()
    admin = get_user_model().objects.get(username=f"admin@{fresh_brand.slug}.example")
    replicas.replica_catch_up(replica)

    def exported() -> list[str]:
        job = export_start(kind="loyalty.members_export", by=admin)
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            job_run(job_id=job.pk)
        job.refresh_from_db()
        assert job.state == Job.State.DONE, job.message
        assert any("loyalty_member" in query["sql"] for query in on_replica.captured_queries)
        with private_storage().open(job.result_path) as file:
            rows = csv.DictReader(io.StringIO(file.read().decode("utf-8-sig")))
            return sorted(row["external_id"] for row in rows)

    _on_replica(replica, "SELECT pg_wal_replay_pause()")
    try:
        second = member_make()
        assert exported() == [first.external_id]
    finally:
        _on_replica(replica, "SELECT pg_wal_replay_resume()")
    replicas.replica_catch_up(replica)
    assert exported() == sorted([first.external_id, second.external_id])


def test_writes_go_to_the_primary_and_the_replica_refuses_one(replica, fresh_brand):
    connection.set_tenant(fresh_brand)
    member = member_make(first_name="Before")
    replicas.replica_catch_up(replica)

    with replica_reads(), CaptureQueriesContext(connections[REPLICA]) as on_replica:
        read = Member.objects.get(pk=member.pk)
        assert read._state.db == REPLICA
        read.first_name = "After"
        read.save(update_fields=["first_name"])  # the router: to the primary
        Member.objects.filter(pk=member.pk).update(last_name="Written")
    verbs = {query["sql"].split()[0] for query in on_replica.captured_queries} - {"SET"}  # search_path
    assert verbs == {"SELECT"}
    assert Member.objects.filter(pk=member.pk, first_name="After", last_name="Written").exists()
    read.refresh_from_db()  # out of replica_reads(): from the primary, though read from the replica
    assert (read._state.db, read.last_name) == ("default", "Written")

    # Sent to the replica anyway: refused, and its connection still reads.
    with replica_reads():
        with pytest.raises(DatabaseError, match="read-only transaction"):
            Member.objects.using(REPLICA).filter(pk=member.pk).update(first_name="Nope")
        assert Member.objects.using(REPLICA).filter(pk=member.pk).exists()


def _audit_csv(staff) -> list[str]:
    response = staff.get(reverse("admin:core_auditentry_export"))
    assert response.status_code == 200, response.status_code
    rows = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    return sorted(row["object"] for row in rows)


def _audit_make(name: str) -> None:
    AuditEntry.objects.create(at=timezone.now(), action="create", via="backoffice", object_repr=name)


def test_the_audit_trails_csv_streams_from_the_replica(replica, fresh_brand, staff_for):
    connection.set_tenant(fresh_brand)
    staff = staff_for(fresh_brand)
    _audit_make("first")
    replicas.replica_catch_up(replica)

    _on_replica(replica, "SELECT pg_wal_replay_pause()")
    try:
        connection.set_tenant(fresh_brand)
        _audit_make("second")
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            assert "first" in _audit_csv(staff) and "second" not in _audit_csv(staff)
        assert any("core_auditentry" in query["sql"] for query in on_replica.captured_queries)
    finally:
        _on_replica(replica, "SELECT pg_wal_replay_resume()")
    replicas.replica_catch_up(replica)
    assert {"first", "second"} <= set(_audit_csv(staff))
