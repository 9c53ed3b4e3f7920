"""Every brand's schema brought up to the template's migrations: only the schemas behind it, by
several processes at once.

`migrate_schemas --tenant` runs Django's `migrate` in every schema even when nothing is to apply,
and each run reads the migrations' state, lists the tables and sends the post-migrate signals: with
350 brands it took over four minutes with nothing to do. The template schema is migrated first
(`template_schema_sync`) and every brand is a copy of it, so a brand whose `django_migrations` holds
every migration the template's holds has nothing to apply: those are told apart with one query per
200 brands, and only the others are migrated, by django-tenants' multiprocessing executor
(MIGRATE_PROCESSES processes, README "A thousand brands").

Most often every brand behind is behind by the same migrations, which only change tables (an added
column, an altered field, an index): then Django writes their SQL once, against the first brand
behind (its names are every brand's: all are copies of the template), and each brand runs it in a
transaction of its own with its schema on the path, with the rows of its `django_migrations`.
Running Django's `migrate` in each schema, one such migration cost seconds per brand (its models'
states rendered again each time). A plan that runs Python, adds, removes or renames a model, or
changes a model's options (content types and permissions are then made by the post-migrate
signals), a migration outside a transaction, and a brand whose SQL fails go the executor's way.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations import operations
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name

from .clone import search_path_forget
from .models import Brand

logger = logging.getLogger(__name__)

# Brands per query when counting what each has applied.
_CHUNK = 200

# Operations whose effects go beyond their SQL: the post-migrate signals make content types and
# permissions for them, or they run Python.
_NOT_REPLAYED = (
    operations.CreateModel,
    operations.DeleteModel,
    operations.RenameModel,
    operations.AlterModelOptions,
    operations.AlterModelTable,
    operations.RunPython,
)


def brand_schemas_behind(*, template: str) -> tuple[list[str], int]:
    """The brand schemas missing a migration the template schema has applied, and how many brand
    schemas there are. A brand whose schema has no migrations table at all is behind too."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app || '.' || name FROM {quote(template)}.django_migrations")  # noqa: S608
        expected = [name for (name,) in cursor.fetchall()]
        schemas = list(
            Brand.objects.exclude(schema_name=get_public_schema_name())
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY (%s) "
            "AND to_regclass(quote_ident(nspname) || '.django_migrations') IS NOT NULL",
            [schemas],
        )
        with_table = {name for (name,) in cursor.fetchall()}
        behind = [schema for schema in schemas if schema not in with_table]
        counted = [schema for schema in schemas if schema in with_table]
        for start in range(0, len(counted), _CHUNK):
            chunk = counted[start : start + _CHUNK]
            union = " UNION ALL ".join(
                f"SELECT %s, count(*) FROM {quote(schema)}.django_migrations "  # noqa: S608
                "WHERE app || '.' || name = ANY (%s)"
                for schema in chunk
            )
            cursor.execute(union, [value for schema in chunk for value in (schema, expected)])
            behind.extend(schema for schema, applied in cursor.fetchall() if applied < len(expected))
    return sorted(behind), len(schemas)


def brand_schemas_migrate(*, schemas: list[str], verbosity: int = 0) -> list[str]:
    """Apply the pending migrations to `schemas`: by their SQL written once where it can be (see
    above), the others MIGRATE_PROCESSES at a time (1: in this process). The schemas migrated by
    the SQL written once."""
    replayed = _sql_replay(schemas=schemas) if schemas else []
    _executor_run(schemas=[schema for schema in schemas if schema not in set(replayed)], verbosity=verbosity)
    return replayed


def _sql_replay(*, schemas: list[str]) -> list[str]:
    """Migrate the schemas that are where the first one is, by the SQL of its plan."""
    connection.set_schema(schemas[0])  # type: ignore[attr-defined]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        replayable = plan and all(
            not backwards and migration.atomic and not isinstance(operation, _NOT_REPLAYED)
            for migration, backwards in plan
            for operation in migration.operations
        )
        if not replayable:
            return []
        applied = set(executor.loader.applied_migrations)
        state = executor._create_project_state(with_applied_migrations=True)
        statements: list[str] = []
        for migration, _backwards in plan:
            with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                state = migration.apply(state, editor, collect_sql=True)
            statements.extend(editor.collected_sql)
    finally:
        connection.set_schema_to_public()  # type: ignore[attr-defined]
    script = "\n".join(statements)
    recorded = [(migration.app_label, migration.name) for migration, _backwards in plan]
    applied_in = _applied_by_schema(schemas=schemas)
    replayed = []
    for schema in schemas:
        if applied_in.get(schema) != applied:
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('search_path', %s, true)",
                    [f"{connection.ops.quote_name(schema)}, public"],
                )
                cursor.execute(script)
                now = timezone.now()
                cursor.executemany(
                    "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                    [(app, name, now) for app, name in recorded],
                )
        except DatabaseError:
            logger.exception("the migrations' SQL failed in %s: migrated by the executor instead", schema)
            continue
        finally:
            search_path_forget()
        replayed.append(schema)
    return replayed


def _applied_by_schema(*, schemas: list[str]) -> dict[str, set[tuple[str, str]]]:
    """The migrations each schema has applied, read _CHUNK schemas per query."""
    quote = connection.ops.quote_name
    applied: dict[str, set[tuple[str, str]]] = {schema: set() for schema in schemas}
    with connection.cursor() as cursor:
        for start in range(0, len(schemas), _CHUNK):
            chunk = schemas[start : start + _CHUNK]
            union = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {quote(schema)}.django_migrations"  # noqa: S608
                for schema in chunk
            )
            cursor.execute(union, chunk)
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return applied


def _executor_run(*, schemas: list[str], verbosity: int) -> None:
    if not schemas:
        return
    processes = settings.TENANT_MULTIPROCESSING_MAX_PROCESSES
    executor = "multiprocessing" if processes > 1 and len(schemas) > 1 else "standard"
    call_command(
        _SchemasMigrate(),
        tenant=True,
        executor=executor,
        schemas=schemas,
        interactive=False,
        verbosity=verbosity,
    )


class _SchemasMigrate(MigrateSchemasCommand):
    """django-tenants' `migrate_schemas --tenant` on the schemas given, not on every brand."""

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--schemas", nargs="*", default=[])

    def handle(self, *args, **options) -> None:
        schemas = list(options.pop("schemas"))
        super(MigrateSchemasCommand, self).handle(*args, **options)  # SyncCommon's: reads the options
        get_executor(codename=self.executor)(self.args, self.options).run_migrations(tenants=schemas)
