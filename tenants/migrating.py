"""Every brand's schema brought up to the template's migrations: only the schemas behind it, by
several processes at once.

`migrate_schemas --tenant` runs Django's `migrate` in every schema even when nothing is to apply,
and each run reads the migrations' state, lists the tables and sends the post-migrate signals: with
350 brands it took over four minutes with nothing to do. The template schema is migrated first
(`template_schema_sync`) and every brand is a copy of it, so a brand whose `django_migrations` holds
every migration the template's holds has nothing to apply: those are told apart with one query per
200 brands, and only the others are migrated, by django-tenants' multiprocessing executor
(MIGRATE_PROCESSES processes, README "A thousand brands").
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name

from .models import Brand

# Brands per query when counting what each has applied.
_CHUNK = 200


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


def brand_schemas_migrate(*, schemas: list[str], verbosity: int = 0) -> None:
    """Apply the pending migrations to `schemas`, MIGRATE_PROCESSES at a time (1: in this process)."""
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
