#!/usr/bin/env python3
"""Issue 13: server time of the member site's `/account/`, `/account/history/` and `/gifts/` for a
member with 2,000 ledger entries, in a brand of 100,000 members and 500 gifts.

The brand is seeded once per run on the bench database, set-based, with the API bench's members
(bench/_api_seed.py) and the redeem bench's catalogue (bench/redeem.py); then one member gets
2,000 entries (earnings and adjustments, each with its lot) and another 20. Each page is asked
BENCH_PAGES_REQUESTS times (200) through Django's test client in this process, DEBUG off, after
20 warm-up requests: the whole request (host routing, session, middleware, the view, its template)
without a network in between. It prints p50/p95/p99 per page against the goal (p95 under 100 ms)
and the SQL queries per page for the member with 2,000 entries and the one with 20: they must be
the same (no query per entry). The brand is dropped at the end.
"""

from __future__ import annotations

import os
import time
import uuid

from _api_seed import brand_seed
from _setup import django_setup, percentile
from redeem import CATALOGUE_SQL, GIFTS

MEMBERS = int(os.environ.get("BENCH_PAGES_MEMBERS", "100000"))
REQUESTS = int(os.environ.get("BENCH_PAGES_REQUESTS", "200"))
WARMUP = 20
PAGES = ["/account/", "/account/history/", "/gifts/"]
GOAL_MS = 100.0

# A member's history: `count` entries an hour apart, alternately earned and adjusted by staff,
# each with its lot (balance == sum of entries == sum of the open lots).
ENTRIES_SQL = """
INSERT INTO loyalty_ledgerentry (
    member_id, kind, points, balance_after, created_at, reason, source, explanation
)
SELECT m.id, CASE WHEN g %% 2 = 0 THEN 'adjust' ELSE 'earn' END, 10, 10 * g,
       now() - (%(count)s - g) * interval '1 hour', CASE WHEN g %% 2 = 0 THEN 'bench goodwill' ELSE '' END,
       '', '{}'
FROM loyalty_member m, generate_series(1, %(count)s) AS g WHERE m.external_id = %(member)s;

INSERT INTO loyalty_pointlot (member_id, entry_id, points, remaining, available_at, expires_at)
SELECT e.member_id, e.id, e.points, e.points, e.created_at, e.created_at + interval '400 days'
FROM loyalty_ledgerentry e JOIN loyalty_member m ON m.id = e.member_id WHERE m.external_id = %(member)s;

UPDATE loyalty_member SET balance = 10 * %(count)s, last_activity_at = now() WHERE external_id = %(member)s
"""


def seed() -> tuple[object, dict[int, object]]:
    """The brand, and the login of a member per history size (2,000 and 20 entries)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django_tenants.utils import schema_context

    from loyalty.models import Member

    brand, _ = brand_seed(slug=f"bench-pages-{uuid.uuid4().hex[:6]}", members=MEMBERS)
    users = {}
    with schema_context(brand.schema_name):
        with connection.cursor() as cursor:
            for statement in filter(str.strip, CATALOGUE_SQL.split(";")):
                cursor.execute(statement, {"gifts": GIFTS})
            for count, external_id in ((2000, "M0000001"), (20, "M0000002")):
                for statement in filter(str.strip, ENTRIES_SQL.split(";")):
                    cursor.execute(statement, {"count": count, "member": external_id})
                user = get_user_model().objects.create_user(username=f"{external_id}@bench.example")
                Member.objects.filter(external_id=external_id).update(user=user)
                users[count] = user
            for table in ("loyalty_ledgerentry", "loyalty_pointlot", "catalog_gift"):
                cursor.execute(f"ANALYZE {table}")
    return brand, users


def measure(brand, users: dict[int, object]) -> bool:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    host = brand.domains.get(is_primary=True).domain
    clients = {}
    for count, user in users.items():
        client = Client(HTTP_HOST=host)
        client.force_login(user)
        clients[count] = client
    met = True
    for path in PAGES:
        queries = {}
        for count, client in clients.items():
            client.get(path)  # what a session reads once
            with CaptureQueriesContext(connection) as captured:
                status = client.get(path).status_code
            assert status == 200, (path, status)
            queries[count] = len(captured)
        client = clients[2000]
        for _ in range(WARMUP):
            client.get(path)
        times = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        p95 = percentile(times, 0.95)
        constant = queries[2000] == queries[20]
        met = met and p95 < GOAL_MS and constant
        print(
            f"{path:<20} p50 {percentile(times, 0.50):6.1f} ms  p95 {p95:6.1f} ms  p99 "
            f"{percentile(times, 0.99):6.1f} ms  ({REQUESTS} requests)  [goal p95 < {GOAL_MS:.0f} ms: "
            f"{'met' if p95 < GOAL_MS else 'NOT met'}]",
            flush=True,
        )
        print(
            f"{'':<20} SQL queries: {queries[2000]} with 2,000 entries, {queries[20]} with 20 "
            f"[{'constant' if constant else 'GROWS with the entries'}]",
            flush=True,
        )
    return met


def main() -> int:
    os.environ.setdefault("DEBUG", "0")
    django_setup()
    from django.conf import settings
    from django.db import connection

    started = time.perf_counter()
    brand, users = seed()
    print(
        f"brand of {MEMBERS:,} members, {GIFTS} gifts, seeded in {time.perf_counter() - started:.0f} s; "
        f"DEBUG {'on' if settings.DEBUG else 'off'}; Django's test client, in process",
        flush=True,
    )
    try:
        connection.set_tenant(brand)
        met = measure(brand, users)
    finally:
        connection.set_schema_to_public()
        brand.delete(force_drop=True)
    print(f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
