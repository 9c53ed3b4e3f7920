"""Shared start-up for the benchmarks: a database of their own (`loyalty_bench`, or BENCH_DATABASE:
bench/scale.py keeps its thousand brands apart), migrated."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "loyalty_bench")


def bench_database_url() -> str:
    port = os.environ.get("EMBEDDED_PG_PORT", "54329")
    base = os.environ.get("DATABASE_URL") or f"postgres://postgres@127.0.0.1:{port}/loyalty"
    return base.rsplit("/", 1)[0] + "/" + BENCH_DATABASE


def django_setup() -> None:
    """Point Django at the bench database (creating and migrating it if needed), then set it up."""
    import psycopg

    url = bench_database_url()
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_all", verbosity=0)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: list[float], share: float) -> float:
    """The value at `share` (0.95: p95) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_module():
    """platform/run.py (`make run`), loaded by path: `platform` is also a standard library module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("loyalty_run", ROOT / "platform" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def web_start(*, port: int, workers: str, stderr=None, database_options: str = ""):
    """The app served as `make run` serves it (its `web_command`), on the bench database, DEBUG off,
    no access log; `database_options` are the database URL's (`application_name=...`). Returns the
    process once /health answers 200."""
    import subprocess
    import time
    import urllib.request

    url = bench_database_url() + (f"?{database_options}" if database_options else "")
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    command = _run_module().web_command(host="127.0.0.1", port=port, workers=workers, access_log=False)
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stderr=stderr)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("the web server did not answer /health within 60 s")


def seeded_brand(*, slug: str, name: str, seed, seeded: str = "seeded"):
    """The bench brand `slug`, seeded once and kept between runs: `seed()` runs in its schema and
    sets the programme's name to `seeded` last, so a seed that did not finish is dropped and redone."""
    from django_tenants.utils import schema_context

    from loyalty.models import ProgrammeSettings
    from tenants.models import Brand
    from tenants.services import brand_create

    brand = Brand.objects.filter(slug=slug).first()
    if brand is not None:
        with schema_context(brand.schema_name):
            if not ProgrammeSettings.objects.filter(programme_name=seeded).exists():
                brand.delete(force_drop=True)  # a seed that did not finish
                brand = None
    if brand is None:
        brand, _ = brand_create(slug=slug, name=name, admin_email="a@bench.example", admin_password="x" * 12)
        with schema_context(brand.schema_name):
            seed()
    else:
        print(f"reusing the seeded brand {slug}", flush=True)
    return brand
