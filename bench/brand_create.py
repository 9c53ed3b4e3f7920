#!/usr/bin/env python3
"""Issue 2: time to create a brand by cloning the template schema vs by running every migration.

Median of 5 each. Goal: clone under 2 s on this machine.
"""

from __future__ import annotations

import time
import uuid

from _setup import django_setup, median
from django.utils.timezone import now

RUNS = 5


def main() -> None:
    django_setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.clone import CloneSchema

    from tenants.models import Brand, Domain
    from tenants.services import brand_create, template_schema_name

    created, cloned, migrated = [], [], []
    for _ in range(RUNS):
        slug = f"bench-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        brand, _ = brand_create(
            slug=slug, name="Bench", admin_email="a@bench.example", admin_password="x" * 12
        )
        created.append(time.perf_counter() - started)
        brand.delete(force_drop=True)

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        CloneSchema().clone_schema(template_schema_name(), schema, "DATA")
        cloned.append(time.perf_counter() - started)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')

        slug = f"bench-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        brand = Brand.objects.create(schema_name=slug.replace("-", "_"), slug=slug, name="Bench")
        Domain.objects.create(
            domain=f"{slug}.bench", tenant=brand, is_primary=True, verified_at=now(), method="platform"
        )
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{brand.schema_name}"')
        call_command(
            "migrate_schemas", tenant=True, schema_name=brand.schema_name, interactive=False, verbosity=0
        )
        migrated.append(time.perf_counter() - started)
        connection.set_schema_to_public()
        brand.delete(force_drop=True)

    create_median, clone_median, migrate_median = median(created), median(cloned), median(migrated)
    print(
        f"brand_create end to end (clone + domains + admin user, PBKDF2 hash included): "
        f"median {create_median:.3f} s of {RUNS}  [goal < 2 s: {'met' if create_median < 2 else 'NOT met'}]"
    )
    print(f"schema by cloning the template:   median {clone_median:.3f} s of {RUNS}")
    print(
        f"schema by running the migrations: median {migrate_median:.3f} s of {RUNS}"
        f"  (clone is {migrate_median / clone_median:.1f}x faster)"
    )


if __name__ == "__main__":
    main()
