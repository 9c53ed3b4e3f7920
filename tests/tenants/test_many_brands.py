"""What keeps a thousand brands on one PostgreSQL as quick as one (README "A thousand brands"): the
table list read from the schemas on the path, `migrate_all` migrating only the brands behind the
template, and connections ended once they have served DATABASE_SCHEMAS_PER_CONNECTION schemas."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection
from django_tenants.utils import schema_context

from tenants.migrating import brand_schemas_behind
from tenants.services import template_schema_name
from tests.conftest import brand_make
from tests.support import free_port, schema_signature

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_list_is_django_s_in_every_kind_of_schema(db, brand_a):
    """The list migrations read comes from the catalog's indexes, and is the one Django's query
    gives: public's own tables, the template's, a brand's (not the public ones behind it)."""
    for schema in ("public", template_schema_name(), brand_a.schema_name):
        with schema_context(schema), connection.cursor() as cursor:
            ours = sorted(connection.introspection.get_table_list(cursor))
            djangos = sorted(DatabaseSchemaIntrospection(connection).get_table_list(cursor))
        assert ours == djangos
        assert ("django_migrations", "t", None) in [tuple(table) for table in ours]
    with schema_context(brand_a.schema_name), connection.cursor() as cursor:
        names = {table.name for table in connection.introspection.get_table_list(cursor)}
    assert "loyalty_member" in names and "tenants_brand" not in names


def _themes_unapplied(schema: str) -> None:
    """Take the themes app's last migration back in `schema` (its reverse does nothing)."""
    call_command(
        "migrate_schemas", "themes", "0001_initial", schema_name=schema, interactive=False, verbosity=0
    )
    connection.set_schema_to_public()


def _applied(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*) FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
            ["themes", "0002_theme_row"],
        )
        return cursor.fetchone()[0] == 1


def test_migrate_all_migrates_the_brands_behind_the_template_and_only_them(fresh_brand, settings, capfd):
    second = brand_make("t-behind-too")
    try:
        assert brand_schemas_behind(template=template_schema_name())[0] == []
        for brand in (fresh_brand, second):
            _themes_unapplied(brand.schema_name)
        behind, brands = brand_schemas_behind(template=template_schema_name())
        assert behind == sorted([fresh_brand.schema_name, second.schema_name])
        assert brands >= 3  # the session's brands too

        settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = 2
        call_command("migrate_all", verbosity=1)
        out = capfd.readouterr().out  # the processes' output too
        assert f"Brand schemas: {brands}, behind the template: 2" in out
        # Its last migration runs Python: Django's migrate ran it in each.
        assert "Migrated: 0 by the migrations' SQL written once, 2 by Django's migrate in each" in out
        assert all(_applied(brand.schema_name) for brand in (fresh_brand, second))
        # Two processes took one brand each; the brands up to date were not visited.
        assert "multiprocessing:" + fresh_brand.schema_name in out
        assert "multiprocessing:" + second.schema_name in out
        assert "alpha" not in out
        assert brand_schemas_behind(template=template_schema_name())[0] == []
    finally:
        connection.set_schema_to_public()
        second.delete(force_drop=True)


def _loyalty_index_drops_unapplied(*brands) -> None:
    """Take the loyalty app's last migration (it drops covered indexes) back in each brand."""
    for brand in brands:
        call_command(
            "migrate_schemas",
            "loyalty",
            "0022",
            schema_name=brand.schema_name,
            interactive=False,
            verbosity=0,
        )
    connection.set_schema_to_public()


def test_table_changes_are_written_once_and_run_in_each_brand_behind(fresh_brand, brand_a, capfd):
    """The loyalty app's last migration only drops indexes: its SQL is written once and run in
    each brand behind, which then matches the template object for object."""
    second = brand_make("t-replayed")
    try:
        _loyalty_index_drops_unapplied(fresh_brand, second)
        assert schema_signature(fresh_brand.schema_name) != schema_signature(template_schema_name())
        call_command("migrate_all", verbosity=1)
        assert (
            "Migrated: 2 by the migrations' SQL written once, 0 by Django's migrate in each"
            in capfd.readouterr().out
        )
        # The brands behind, and a brand that was up to date: nothing run there twice.
        for brand in (fresh_brand, second, brand_a):
            template = schema_signature(template_schema_name(), sequence_values=False)
            assert schema_signature(brand.schema_name, sequence_values=False) == template
            with connection.cursor() as cursor:
                table = f'"{brand.schema_name}".django_migrations'
                cursor.execute(
                    f"SELECT count(*) FROM {table} WHERE app = %s AND name LIKE %s", ["loyalty", "0023_%"]
                )
                assert cursor.fetchone() == (1,)
        assert brand_schemas_behind(template=template_schema_name())[0] == []
    finally:
        connection.set_schema_to_public()
        second.delete(force_drop=True)


def test_a_brand_changed_by_hand_is_migrated_by_djangos_migrate_not_the_sql_written_once(fresh_brand, capfd):
    """The SQL written once names the indexes of the brand it was written against. A brand whose
    index the migration drops was renamed by hand would run `DROP INDEX IF EXISTS <the usual name>`
    and keep its index: it differs from the others, so Django's migrate, which finds each brand's
    own index, migrates it; the usual brand still gets the SQL."""
    drifted = brand_make("t-zz-drifted")  # after the fresh brand in the schemas' order
    try:
        _loyalty_index_drops_unapplied(fresh_brand, drifted)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'loyalty_consent' "
                "AND indexdef LIKE '%%(member_id)'",
                [drifted.schema_name],
            )
            (index,) = cursor.fetchone()
            cursor.execute(f'ALTER INDEX "{drifted.schema_name}"."{index}" RENAME TO consent_member_by_hand')
        call_command("migrate_all", verbosity=1)
        assert (
            "Migrated: 1 by the migrations' SQL written once, 1 by Django's migrate in each"
            in capfd.readouterr().out
        )
        template = schema_signature(template_schema_name(), sequence_values=False)
        for brand in (fresh_brand, drifted):
            assert schema_signature(brand.schema_name, sequence_values=False) == template
        assert brand_schemas_behind(template=template_schema_name())[0] == []
    finally:
        connection.set_schema_to_public()
        drifted.delete(force_drop=True)


def test_a_brand_schema_without_its_migrations_table_is_behind(fresh_brand):
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{fresh_brand.schema_name}".django_migrations RENAME TO lost')
    assert fresh_brand.schema_name in brand_schemas_behind(template=template_schema_name())[0]


def _in_a_thread(work):
    """`work()` on a connection of its own, outside the test's transaction, as a server thread runs."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed back to the test
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_a_connection_past_its_schema_bound_is_ended_where_django_ends_a_spent_one(
    live_db, brand_a, brand_b, settings
):
    settings.DATABASE_SCHEMAS_PER_CONNECTION = 1

    def work():
        seen = []

        def served(brand) -> None:
            connection.set_tenant(brand)
            with connection.cursor() as cursor:
                cursor.execute("SELECT programme_name FROM loyalty_programmesettings")
                cursor.fetchone()
                cursor.execute("SELECT pg_backend_pid()")
                seen.append(cursor.fetchone()[0])
            connection.close_if_unusable_or_obsolete()  # what Django does at a request's end

        served(brand_a)  # one schema: within the bound
        served(brand_a)
        served(brand_b)  # a second one: the connection is ended after it
        served(brand_b)
        return seen, connection.schemas_served()

    (first, again, third, fourth), served = _in_a_thread(work)
    assert first == again == third
    assert fourth != third
    assert served == 1  # the new connection: beta


def _backends(application: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application])
        return {pid for (pid,) in cursor.fetchall()}


@pytest.mark.parametrize("bound", ["1", "0"])
def test_the_web_server_ends_its_pooled_connections_past_the_bound_and_serves_each_brand(
    live_db, brand_a, brand_b, bound
):
    """granian with the app's connection pool (config/asgi.py): with a bound of 1 schema, every
    connection ends once it has served a second brand; with none, one or two backends serve them all."""
    application = f"t-recycling-{bound}-{free_port()}"
    name = connection.settings_dict["NAME"]
    url = f"postgres://postgres@127.0.0.1:{connection.settings_dict['PORT']}/{name}?application_name={application}"
    port = free_port()
    env = {
        **__import__("os").environ,
        "DATABASE_URL": url,
        "DATABASE_SCHEMAS_PER_CONNECTION": bound,
        "DATABASE_POOL_MAX_SIZE": "1",  # one connection serves both brands
        "DEBUG": "0",
    }
    command = [sys.executable, "-m", "granian", "--interface", "asginl", "config.asgi:application"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "the web server did not start"
                time.sleep(0.2)
        seen: set[int] = set()
        for brand in (brand_a, brand_b) * 6:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/", headers={"Host": f"{brand.slug}.localhost"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert f"Welcome to {brand.name}" in response.read().decode()
            seen |= _backends(application)
        if bound == "1":  # 12 requests, a connection ended every second one
            assert len(seen) >= 5
        else:
            assert len(seen) == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
