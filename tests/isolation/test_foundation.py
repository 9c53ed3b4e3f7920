"""Tenant isolation: nothing of one brand is visible, writable or usable from another.

Every feature adds its case here."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from core.outbox import enqueue_on_commit
from loyalty.models import Member
from loyalty.services.members import member_upsert
from tenants.services import brand_suspend
from tenants.tasks import brand_usage_refresh_task
from tests.conftest import TEST_PASSWORD


def _login(client, brand) -> None:
    response = client.post(
        "/accounts/login/", {"username": f"admin@{brand.slug}.example", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302, response.content


def test_session_of_brand_a_is_not_logged_in_on_brand_b(db, brand_a, brand_b, client_for):
    client = client_for(brand_a)
    _login(client, brand_a)
    assert client.get("/backoffice/").status_code == 200
    session_cookie = client.cookies["sessionid"].value

    # The same cookie sent to B's host: B's schema has no such session.
    other = client_for(brand_b)
    other.cookies["sessionid"] = session_cookie
    response = other.get("/backoffice/")
    assert response.status_code == 302
    assert "/backoffice/login/" in response["Location"]


def test_session_cookie_is_host_only(db, brand_a, client_for):
    client = client_for(brand_a)
    _login(client, brand_a)
    assert client.cookies["sessionid"]["domain"] == ""
    assert client.cookies["csrftoken"]["domain"] == ""


def test_staff_user_of_brand_a_cannot_log_in_on_brand_b(db, brand_a, brand_b, client_for):
    response = client_for(brand_b).post(
        "/accounts/login/", {"username": f"admin@{brand_a.slug}.example", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_object_id_of_brand_a_is_a_404_on_brand_b(db, brand_a, brand_b, client_for):
    with schema_context(brand_a.schema_name):
        # A staff login: the staff list (core.admin_staff) shows staff only.
        only_in_a = get_user_model().objects.create_user(
            username="only-a@example.com", password="x", is_staff=True
        )
    with schema_context(brand_b.schema_name):
        assert not get_user_model().objects.filter(pk=only_in_a.pk, username="only-a@example.com").exists()
    client_a, client_b = client_for(brand_a), client_for(brand_b)
    _login(client_a, brand_a)
    _login(client_b, brand_b)
    url = f"/backoffice/auth/user/{only_in_a.pk}/change/"
    assert client_a.get(url).status_code == 200
    # B's admin asks for A's id: B has no such user (a redirect to the list with "doesn't exist").
    response = client_b.get(url, follow=True)
    assert "only-a@example.com" not in response.content.decode()


def test_celery_task_queued_from_a_sees_only_a(fresh_brand, live_db, celery_worker):
    from tests.conftest import brand_make

    other = brand_make(f"{fresh_brand.slug}-b")
    try:
        with schema_context(other.schema_name):
            get_user_model().objects.create_user(username="extra1@example.com", password="x")
            get_user_model().objects.create_user(username="extra2@example.com", password="x")
        with schema_context(fresh_brand.schema_name):
            result = brand_usage_refresh_task.delay()
        usage = result.get(timeout=30)
        assert (usage["staff_users"], usage["users"], usage["members"], usage["messages_total"]) == (
            1,
            1,
            0,
            0,
        )
        fresh_brand.refresh_from_db()
        other.refresh_from_db()
        assert fresh_brand.usage == usage
        assert other.usage == {}
    finally:
        connection.set_schema_to_public()
        other.delete(force_drop=True)


def test_task_queued_on_commit_runs_in_the_schema_that_queued_it(fresh_brand, live_db, celery_worker):
    """The schema is captured when queued, even if the connection moved on before the commit."""
    from django.db import transaction

    with transaction.atomic():
        with schema_context(fresh_brand.schema_name):
            get_user_model().objects.create_user(username="m@example.com", password="x")
            enqueue_on_commit(brand_usage_refresh_task)
        # Back on public before the commit fires.
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        fresh_brand.refresh_from_db()
        if fresh_brand.usage:
            break
        time.sleep(0.05)
    assert (fresh_brand.usage["staff_users"], fresh_brand.usage["users"]) == (1, 2)


def test_cache_entry_written_under_a_is_not_read_under_b(db, brand_a, brand_b):
    with schema_context(brand_a.schema_name):
        cache.set("dashboard", "alpha figures", 30)
        assert cache.get("dashboard") == "alpha figures"
    with schema_context(brand_b.schema_name):
        assert cache.get("dashboard") is None
        cache.set("dashboard", "beta figures", 30)
    with schema_context(brand_a.schema_name):
        assert cache.get("dashboard") == "alpha figures"
        cache.delete("dashboard")
    with schema_context(brand_b.schema_name):
        cache.delete("dashboard")


@pytest.mark.skipif(
    not settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold"),
    reason="prepared statements are off",
)
def test_a_statement_prepared_in_brand_a_reads_brand_bs_rows_in_brand_b(db, brand_a, brand_b):
    """psycopg prepares a query run often on a connection (settings: prepare_threshold); the same
    text run after switching brands must read the other schema's table, not the prepared one's."""

    def first_name_of_x() -> list[str]:
        return list(Member.objects.filter(external_id="x").values_list("first_name", flat=True))

    for brand, name in ((brand_a, "Alpha"), (brand_b, "Beta")):
        connection.set_tenant(brand)
        member_upsert(external_id="x", data={"first_name": name})
    for brand, name in ((brand_a, "Alpha"), (brand_b, "Beta"), (brand_a, "Alpha")):
        connection.set_tenant(brand)
        for _ in range(8):
            assert first_name_of_x() == [name]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
            ['SELECT "loyalty_member"."first_name" AS "first_name" FROM "loyalty_member" WHERE %'],
        )
        assert cursor.fetchall(), "this very query was prepared: the check above is not vacuous"


def _search_path_statements(work) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        work()
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search_path")]


def test_the_search_path_is_set_again_whenever_the_brand_changes_or_a_rollback_undid_it(db, brand_a, brand_b):
    def count_members() -> None:
        Member.objects.count()

    def search_path() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW search_path")
            return cursor.fetchone()[0]

    connection.set_tenant(brand_a)
    count_members()
    connection.set_tenant(brand_a)  # the next request, the same brand: nothing to send
    assert _search_path_statements(count_members) == []
    connection.set_tenant(brand_b)
    assert _search_path_statements(count_members) == ['SET search_path = "brand_beta","public"']
    try:
        with transaction.atomic():
            connection.set_tenant(brand_a)
            assert _search_path_statements(count_members) == ['SET search_path = "brand_alpha","public"']
            raise RuntimeError("rolled back to the savepoint: the SET above is undone")
    except RuntimeError:
        pass
    # Forgotten at the rollback, so set again before the next statement: the connection is where
    # it believes it is.
    assert search_path() == "brand_alpha, public"
    connection.set_tenant(brand_b)
    assert search_path() == "brand_beta, public"


def test_the_health_check_of_a_healthy_connection_sends_nothing(live_db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), 'the last statement'")
        pid = cursor.fetchone()[0]
    assert connection.is_usable()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        (query,) = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    assert "the last statement" in query, query


def test_a_connection_closed_by_the_server_fails_the_health_check(live_db):
    assert connection.is_usable()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None, "closed, so the next query opens a new connection"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_file_uploaded_under_a_is_not_served_under_b(db, brand_a, brand_b, client_for):
    with schema_context(brand_a.schema_name):
        name = default_storage.save("logos/logo.txt", ContentFile(b"alpha logo"))
        assert f"/{brand_a.schema_name}/" in default_storage.path(name)
        assert default_storage.url(name) == f"/media/{name}"
    try:
        assert b"".join(client_for(brand_a).get(f"/media/{name}").streaming_content) == b"alpha logo"
        assert client_for(brand_b).get(f"/media/{name}").status_code == 404
        # Nor by climbing out of B's folder.
        escape = f"/media/../{brand_a.schema_name}/{name}"
        assert client_for(brand_b).get(escape).status_code == 404
    finally:
        with schema_context(brand_a.schema_name):
            default_storage.delete(name)


@pytest.mark.parametrize("path", ["/", "/backoffice/", "/accounts/login/"])
def test_suspended_brand_shows_a_suspended_page_and_others_are_unaffected(
    db, brand_a, brand_b, client_for, path
):
    client_for(brand_a).get(path)  # brand A cached for routing: the suspension must still apply at once
    brand_suspend(brand=brand_a)
    response = client_for(brand_a).get(path)
    assert response.status_code == 403
    assert "temporarily unavailable" in response.content.decode()
    assert client_for(brand_b).get(path).status_code in (200, 302)


def test_suspended_brand_api_answers_json(db, brand_a, client_for):
    brand_suspend(brand=brand_a)
    response = client_for(brand_a).get("/api/v1/members/x")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "brand_suspended"
