#!/usr/bin/env python3
"""Issue 16: server time of the backoffice dashboard (`/backoffice/dashboard/`) for a brand of
1,000,000 members and 20,000,000 ledger entries (goal: p95 under 300 ms).

A brand of its own in the bench database is seeded once with set-based SQL (generate_series) and
kept for the next runs: per member 20 entries over the last two years (earnings, redemptions,
expiries, an adjustment; about 27,000 of them today), a tier, a last activity in the last 200 days;
3,000,000 messages on the four channels in every state; 300,000 orders of 40 gifts; entries and
messages stored in the order of their dates, as a brand's are written (CLUSTER). The nightly
rebuild of the monthly aggregates (`dashboard_rebuild`, full) is timed after the seed, then each
run rebuilds the closed days as the nightly does and times it too.

The page is asked BENCH_DASHBOARD_REQUESTS times (100) through Django's test client in this
process, DEBUG off, after 10 warm-up requests, as the brand's owner, for the default period (the
last 12 months) and for 24 months: the whole request (host routing, session, middleware, the view,
its template) without a network in between. It prints p50/p95/p99 and the SQL queries per page.

    python bench/dashboard.py [members]      # default 1,000,000 (20 entries each)
"""

from __future__ import annotations

import os
import sys
import time

from _setup import django_setup, percentile, seeded_brand

MEMBERS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SLUG = f"bench-dashboard-{MEMBERS}"
SEEDED = "seeded"  # the programme name once the seed is complete
REQUESTS = int(os.environ.get("BENCH_DASHBOARD_REQUESTS", "100"))
WARMUP = 10
GOAL_MS = 300.0
ENTRIES_PER_MEMBER = 20
GIFTS = 40

# Entry k (1..20) of member g: its kind and points, as SQL of g and k. Earnings exceed the debits,
# so every balance (their sum) stays positive.
KIND = """CASE WHEN k <= 11 OR k >= 19 THEN 'earn' WHEN k <= 15 THEN 'redeem'
               WHEN k <= 17 THEN 'expire' ELSE 'adjust' END"""
POINTS = """CASE WHEN k <= 11 OR k >= 19 THEN 50 + (g * k) %% 100 WHEN k <= 15 THEN -(10 + (g * k) %% 40)
                 WHEN k <= 17 THEN -(5 + (g * k) %% 20) ELSE 1 + (g * k) %% 30 END"""
SEED = [
    f"""
INSERT INTO loyalty_member (
    id, external_id, kind, company_name, siret, first_name, last_name, email, phone, address_line1,
    address_line2, postal_code, city, country, language, tags, is_vip, balance, overdraft_limit,
    points_owed, status, tier_id, joined_at, last_activity_at, created_at, updated_at, vip_source)
SELECT g, 'M' || g, 'customer', '', '', 'First' || g, 'Last' || g, 'm' || g || '@bench.example', '', '',
       '', '', '', 'FR', 'fr', '{{}}', false,
       (SELECT sum({POINTS}) FROM generate_series(1, {ENTRIES_PER_MEMBER}) k), 0, 0, 'active',
       (SELECT id FROM loyalty_tier ORDER BY threshold OFFSET g %% 5 LIMIT 1),
       now() - (g %% 1095) * interval '1 day', now() - (g %% 200) * interval '1 day', now(), now(), ''
FROM generate_series(1, %(members)s) g
""",
    *(
        f"""
INSERT INTO loyalty_ledgerentry
    (member_id, kind, points, balance_after, created_at, reason, source, explanation)
SELECT g, {KIND}, {POINTS}, 0,
       now() - ((g * 7 + k * 131) %% 730) * interval '1 day' - ((g * k) %% 86400) * interval '1 second',
       CASE WHEN k = 18 THEN 'bench goodwill' ELSE '' END, 'seed', '{{}}'::jsonb
FROM generate_series(1, %(members)s) g, (SELECT {k} AS k) AS entry
"""
        for k in range(1, ENTRIES_PER_MEMBER + 1)
    ),
    """
INSERT INTO messaging_message (
    member_id, channel, purpose, template_code, language, recipient, subject, body, html, state,
    skip_reason, provider, provider_id, provider_status, error, trigger, attempts, created_at, updated_at)
SELECT 1 + g %% %(members)s, (ARRAY['email', 'sms', 'voice', 'post'])[1 + g %% 4],
       'marketing', '', 'fr', '', '', '', '', (ARRAY['queued', 'sent', 'delivered', 'delivered', 'delivered',
       'failed', 'skipped', 'unknown'])[1 + (g / 4) %% 8], '', '', '', '', '', '', 1,
       now() - (g %% 730) * interval '1 day', now()
FROM generate_series(1, 3 * %(members)s) g
""",
    """
INSERT INTO catalog_order (
    member_id, status, idempotency_key, request_fingerprint, total_points, ship_name, ship_line1,
    ship_line2, ship_postal_code, ship_city, ship_country, ship_phone, tracking_ref, placed_at, updated_at)
SELECT 1 + (g * 3) %% %(members)s,
       (ARRAY['placed', 'confirmed', 'delivered', 'delivered', 'cancelled'])[1 + g %% 5],
       'bench-' || g, '', 100, '', '', '', '', '', '', '', '', now() - (g %% 730) * interval '1 day', now()
FROM generate_series(1, 3 * %(members)s / 10) g
""",
    """
INSERT INTO catalog_orderline (
    order_id, gift_id, kind, gift_name, gift_reference, quantity, points_each, points_total, currency,
    charity_name, service_code)
SELECT o.id, gift.id, gift.kind, gift.name, gift.reference, 1 + o.id %% 3, gift.points_price,
       gift.points_price * (1 + o.id %% 3), '', '', ''
FROM catalog_order o
JOIN LATERAL (SELECT * FROM catalog_gift ORDER BY id OFFSET (o.id * o.id) %% %(gifts)s LIMIT 1) gift ON true
""",
]

# The index of a table led by its created_at column.
CREATED_AT_INDEX = """
SELECT indexname FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = %s AND indexdef LIKE '%%USING btree (created_at%%'
ORDER BY indexname LIMIT 1
"""


def _seed() -> None:
    from django.db import connection
    from redeem import CATALOGUE_SQL

    from loyalty.models import ProgrammeSettings
    from loyalty.services.tiers import tier_create

    for code, threshold in (("member", 0), ("silver", 300), ("gold", 1000), ("vip", 1800)):
        tier_create(data={"code": code, "name": code.title(), "threshold": threshold})
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in filter(str.strip, CATALOGUE_SQL.split(";")):
            cursor.execute(statement, {"gifts": GIFTS})
        for number, statement in enumerate(SEED, 1):
            cursor.execute(statement, {"members": MEMBERS, "gifts": GIFTS})
            print(f"  seed step {number}/{len(SEED)}: {time.perf_counter() - started:.0f} s", flush=True)
        cursor.execute("SELECT setval(pg_get_serial_sequence('loyalty_member', 'id'), %s)", [MEMBERS])
        # A brand's entries and messages are written as time goes, so a day's rows sit together in
        # the table; the seed's (written member by member) are put in that order too.
        for table in ("loyalty_ledgerentry", "messaging_message"):
            cursor.execute(CREATED_AT_INDEX, [table])
            cursor.execute(f"CLUSTER {table} USING {cursor.fetchone()[0]}")
        for table in ("loyalty_member", "loyalty_ledgerentry", "messaging_message", "catalog_order"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"seeded {MEMBERS:,} members, {ENTRIES_PER_MEMBER * MEMBERS:,} entries, {3 * MEMBERS:,} messages, "
        f"{3 * MEMBERS // 10:,} orders: {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    ProgrammeSettings.objects.update(programme_name=SEEDED)


def _brand():
    return seeded_brand(slug=SLUG, name="Bench dashboard", seed=_seed, seeded=SEEDED)


def _rebuilds() -> None:
    """The first (full) rebuild once, then the nightly's, timed."""
    from backoffice.dashboard_services import dashboard_rebuild
    from backoffice.models import DashboardState

    if not DashboardState.objects.exists():
        started = time.perf_counter()
        dashboard_rebuild(full=True)
        print(f"first rebuild of every month: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    dashboard_rebuild()
    print(f"nightly rebuild (closed days of this month and the last): {time.perf_counter() - started:.1f} s")


def _measure(brand) -> bool:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    host = brand.domains.get(is_primary=True).domain
    client = Client(HTTP_HOST=host)
    client.force_login(get_user_model().objects.get(email="a@bench.example"))
    today = timezone.localdate()
    two_years_ago = f"{today.year - 2}-{today.month:02d}"
    met = True
    for label, query in (("12 months", ""), ("24 months", f"?start={two_years_ago}&end={today:%Y-%m}")):
        path = f"/backoffice/dashboard/{query}"
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        queries = len(captured)  # read now: the next request's start empties the log
        for _ in range(WARMUP):
            client.get(path)
        times = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        p95 = percentile(times, 0.95)
        met = met and p95 < GOAL_MS
        print(
            f"dashboard, {label}: p50 {percentile(times, 0.5):6.1f} ms  p95 {p95:6.1f} ms  p99 "
            f"{percentile(times, 0.99):6.1f} ms  ({REQUESTS} requests, {queries} SQL queries)  "
            f"[goal p95 < {GOAL_MS:.0f} ms: {'met' if p95 < GOAL_MS else 'NOT met'}]  "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
            flush=True,
        )
    return met


def main() -> int:
    os.environ.setdefault("DEBUG", "0")
    django_setup()
    from django.db import connection

    brand = _brand()
    connection.set_tenant(brand)
    _rebuilds()
    return 0 if _measure(brand) else 1


if __name__ == "__main__":
    sys.exit(main())
