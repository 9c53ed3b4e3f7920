#!/usr/bin/env python3
"""Issue 16: the import of 100,000 members from a CSV file (resellers: company, SIRET, address,
phone, sales rep by e-mail), a dry run then the import, each under 60 s, with its progress.

A new brand on the bench database, with 20 staff users as sales reps; the file has BENCH_IMPORT_ROWS
rows (100,000), 1 in 1,000 of them bad (a SIRET of 3 digits). Each run is a job of
`core.jobs` run by its runner (`job_run`) in this process, as a worker runs it; a thread reads
the job's row every second and prints its progress as the backoffice page shows it. Then the same
file is imported again (nothing changes: every good row `unchanged`). The brand is dropped at the
end.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

from _setup import django_setup

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
REPS = 20
GOAL_SECONDS = 60.0


def csv_file(rows: int) -> bytes:
    lines = [
        "external_id,kind,company_name,siret,address_line1,postal_code,city,country,phone,email,sales_rep"
    ]
    for index in range(rows):
        bad = index % 1000 == 999
        lines.append(
            f"R-{index:07d},reseller,Garage {index},{'123' if bad else f'{index:014d}'},"
            f"{index} rue de la Gare,{75000 + index % 100:05d},Paris,FR,+336{index:08d},"
            f"contact{index}@garage.example,rep{index % REPS}@bench.example"
        )
    return ("\n".join(lines) + "\n").encode()


def job_timed(*, content: bytes, dry_run: bool, label: str) -> float:
    """Run one import job in this process, printing its progress; its seconds."""
    from django.core.files.base import ContentFile
    from django.db import connection

    from core.jobs import job_run
    from core.models import Job
    from core.storage import private_storage

    job = Job.objects.create(
        kind="loyalty.members_import", params={"filename": "members.csv", "dry_run": dry_run}
    )
    job.params["upload_path"] = private_storage().save(
        f"jobs/{job.pk}/upload-members.csv", ContentFile(content)
    )
    job.save(update_fields=["params"])
    schema = connection.schema_name
    finished = threading.Event()

    def watch() -> None:
        from django.db import connection as own

        own.set_schema(schema)
        while not finished.wait(1.0):
            row = Job.objects.filter(pk=job.pk).values("done", "total", "counts").first()
            print(f"  {label}: {row['done']:>7,} of {row['total'] or 0:,} {row['counts']}", flush=True)
        own.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    job_run(job_id=job.pk)
    seconds = time.perf_counter() - start
    finished.set()
    watcher.join()
    job.refresh_from_db()
    assert job.state == Job.State.DONE, job.message
    verdict = "OK" if seconds < GOAL_SECONDS else "OVER"
    print(
        f"{label}: {seconds:.1f} s ({verdict}, goal {GOAL_SECONDS:.0f} s): {job.counts}, "
        f"errors {job.error_count}"
    )
    return seconds


def main() -> None:
    django_setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django_tenants.utils import schema_context

    from loyalty.models import Member
    from tenants.services import brand_create

    brand, _ = brand_create(
        slug=f"bench-import-{uuid.uuid4().hex[:6]}",
        name="Import bench",
        admin_email="admin@bench.example",
        admin_password="x" * 16,
    )
    try:
        with schema_context(brand.schema_name):
            for index in range(REPS):
                get_user_model().objects.create_user(
                    username=f"rep{index}", email=f"rep{index}@bench.example", is_staff=True
                )
            start = time.perf_counter()
            content = csv_file(ROWS)
            print(
                f"{ROWS:,} rows, {len(content) / 1e6:.1f} MB, written in {time.perf_counter() - start:.1f} s"
            )
            job_timed(content=content, dry_run=True, label="dry run")
            assert not Member.objects.exists()
            job_timed(content=content, dry_run=False, label="import")
            print(f"members: {Member.objects.count():,}")
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE loyalty_member")
            job_timed(content=content, dry_run=False, label="import again")
    finally:
        connection.set_schema_to_public()
        brand.delete(force_drop=True)


if __name__ == "__main__":
    main()
