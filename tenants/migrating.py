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
column, an altered field, an index): then Django writes their SQL once, against a brand behind
(its names are every brand's: all are copies of the template), and each brand runs it in a
transaction of its own with its schema on the path, with the rows of its `django_migrations`.
Running Django's `migrate` in each schema, one such migration cost seconds per brand (its models'
states rendered again each time). These go the executor's way: a plan that runs Python, adds,
removes or renames a model, or changes a model's options (content types and permissions are then
made by the post-migrate signals); a migration outside a transaction; a brand whose tables differ
from most brands' (changed by hand: the SQL names the indexes and constraints of the brand it was
written against, and Django's `migrate` reads each brand's own); a brand whose SQL fails.
"""

from __future__ import annotations

import logging
from collections import Counter

from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations import Migration, operations
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState
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
    """Migrate by the SQL of their plan, written once, the schemas that are where the first one is
    (the same migrations applied) and whose tables the plan changes are as most of those's are."""
    migrations, applied, tables, state = _replay_plan(schema=schemas[0])
    if not migrations:
        return []
    applied_in = _applied_by_schema(schemas=schemas)
    shapes = _shapes_by_schema(schemas=schemas, tables=sorted(tables))
    alike = [schema for schema in schemas if applied_in[schema] == applied]
    if not alike:  # a squashed migration counted apart, say: Django's migrate in each
        return []
    usual = Counter(shapes[schema] for schema in alike).most_common(1)[0][0]
    alike = [schema for schema in alike if shapes[schema] == usual]
    script = _replay_script(schema=alike[0], migrations=migrations, state=state)
    recorded = [(migration.app_label, migration.name) for migration in migrations]
    replayed = []
    for schema in alike:
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


def _replay_plan(
    *, schema: str
) -> tuple[list[Migration], set[tuple[str, str]], set[str], ProjectState | None]:
    """What `schema` has to apply, if all of it can be replayed (else nothing), what it has applied,
    the tables the plan changes, and the project's state before the plan (every schema that has
    applied the same has that state)."""
    connection.set_schema(schema)  # type: ignore[attr-defined]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        replayable = plan and all(
            not backwards and migration.atomic and not isinstance(operation, _NOT_REPLAYED)
            for migration, backwards in plan
            for operation in migration.operations
        )
        if not replayable:
            return [], set(), set(), None
        before = executor._create_project_state(with_applied_migrations=True)
        state = before.clone()
        tables: set[str] = set()
        for migration, _backwards in plan:
            tables |= _tables_changed(migration, state)
            state = migration.mutate_state(state, preserve=False)
        migrations = [migration for migration, _backwards in plan]
        return migrations, set(executor.loader.applied_migrations), tables, before
    finally:
        connection.set_schema_to_public()  # type: ignore[attr-defined]


def _replay_script(*, schema: str, migrations: list[Migration], state: ProjectState) -> str:
    """The SQL of `migrations`, from the project's `state` before them, as Django writes it against
    `schema` (the names of its indexes and constraints read from there)."""
    connection.set_schema(schema)  # type: ignore[attr-defined]
    try:
        statements: list[str] = []
        for migration in migrations:
            with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                state = migration.apply(state, editor, collect_sql=True)
            statements.extend(editor.collected_sql)
        return "\n".join(statements)
    finally:
        connection.set_schema_to_public()  # type: ignore[attr-defined]


def _tables_changed(migration: Migration, state: ProjectState) -> set[str]:
    """The tables `migration`'s operations change, from the project's `state` before it: those of
    the models they name, or every table of its app for raw SQL."""
    tables: set[str] = set()
    for operation in migration.operations:
        name = getattr(operation, "model_name", None) or getattr(operation, "name", None)
        if isinstance(operation, operations.RunSQL | operations.SeparateDatabaseAndState):
            app = state.apps.get_app_config(migration.app_label)
            tables |= {model._meta.db_table for model in app.get_models(include_auto_created=True)}
        elif isinstance(name, str):
            tables.add(state.apps.get_model(migration.app_label, name)._meta.db_table)
    return tables


# Each column, index and constraint of the tables named, with their definitions: the brand's name
# taken out of them (an index's ON, a foreign key's REFERENCES name it). Through the catalog's
# indexes on each table's oid, not its views: those read every schema's relations.
_SHAPE_SQL = """
WITH named AS (
    SELECT s.name AS schema, t.name AS table_name,
           to_regclass(quote_ident(s.name) || '.' || quote_ident(t.name)) AS oid
    FROM unnest(%(schemas)s::text[]) AS s(name), unnest(%(tables)s::text[]) AS t(name)
)
SELECT schema, table_name, 'column', a.attname,
       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
FROM named JOIN pg_attribute a ON a.attrelid = named.oid AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT schema, table_name, 'index', c.relname,
       replace(pg_get_indexdef(i.indexrelid), quote_ident(schema) || '.', '')
FROM named JOIN pg_index i ON i.indrelid = named.oid JOIN pg_class c ON c.oid = i.indexrelid
UNION ALL
SELECT schema, table_name, 'constraint', con.conname,
       replace(pg_get_constraintdef(con.oid), quote_ident(schema) || '.', '')
FROM named JOIN pg_constraint con ON con.conrelid = named.oid
"""


def _shapes_by_schema(*, schemas: list[str], tables: list[str]) -> dict[str, frozenset[tuple]]:
    """What each schema holds of `tables` (columns, indexes, constraints; a missing table holds
    nothing), _CHUNK schemas per query. The SQL written against the first brand names its objects:
    it is right for another brand only if that brand's are the same, which every copy of the
    template's are, and a brand changed by hand may not be (Django's `migrate` reads each brand's
    own names)."""
    rows: dict[str, set[tuple]] = {schema: set() for schema in schemas}
    with connection.cursor() as cursor:
        for start in range(0, len(schemas), _CHUNK):
            cursor.execute(_SHAPE_SQL, {"schemas": schemas[start : start + _CHUNK], "tables": tables})
            for schema, *shape in cursor.fetchall():
                rows[schema].add(tuple(shape))
    return {schema: frozenset(shape) for schema, shape in rows.items()}


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
