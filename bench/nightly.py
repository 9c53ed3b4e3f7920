#!/usr/bin/env python3
"""Issue 3: the nightly expiry plus tier re-evaluation for 1,000,000 members (goal: under 2 minutes).

A brand of its own in the bench database is seeded once with set-based SQL (generate_series) and
kept for the next runs: per member two earned lots and two purchases over the last year; four
tiers on amount spent over a rolling 9 months with a 30-day grace period. Every member was placed
by "yesterday's" nightly (part of the seed, its time printed too). Tonight is an end-of-month night:
a fifth of the members have a lot expiring, whose remainder the expiry must take.

Tonight's run is timed as the Celery task runs it (`points_expire_due`, then `tiers_evaluate_all`),
inside a transaction rolled back at the end, so the seed serves the next run unchanged.

    python bench/nightly.py [members]      # default 1,000,000
"""

from __future__ import annotations

import sys
import time

from _setup import django_setup, seeded_brand

MEMBERS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SLUG = f"bench-nightly-{MEMBERS}"
SEEDED = "seeded"  # the programme name once the seed is complete

# Points of member g's two lots, and their dates, as SQL expressions of g.
OLD_POINTS, NEW_POINTS = "(50 + (g * 7) %% 400)", "(20 + (g * 11) %% 200)"
SEED = [
    """
INSERT INTO loyalty_member (
    id, external_id, kind, company_name, siret, first_name, last_name, email, phone, address_line1,
    address_line2, postal_code, city, country, language, tags, is_vip, balance, overdraft_limit,
    points_owed, status, joined_at, created_at, updated_at)
SELECT g, 'M' || g, 'customer', '', '', 'First' || g, 'Last' || g, 'm' || g || '@bench.example', '', '',
       '', '', '', 'FR', 'fr', '{}', false, OLD + NEW, 0, 0, 'active', now() - interval '2 years',
       now(), now()
FROM generate_series(1, %(members)s) g
""",
    """
INSERT INTO loyalty_ledgerentry
    (id, member_id, kind, points, balance_after, created_at, reason, source, explanation)
SELECT 2 * g - 1, g, 'earn', OLD, OLD, now() - interval '400 days' + (g %% 90) * interval '1 day',
       '', 'seed', '{}'::jsonb
FROM generate_series(1, %(members)s) g
UNION ALL
SELECT 2 * g, g, 'earn', NEW, OLD + NEW, now() - ((g * 17) %% 100) * interval '1 day', '', 'seed', '{}'
FROM generate_series(1, %(members)s) g
""",
    """
INSERT INTO loyalty_pointlot (member_id, entry_id, points, remaining, available_at, expires_at)
SELECT member_id, id, points, points, created_at,
       CASE WHEN id %% 2 = 0 THEN created_at + interval '2 years'
            -- end of the month: a fifth of the old lots expired an hour ago, the others later
            WHEN member_id %% 5 = 0 THEN now() - interval '1 hour'
            ELSE now() + (1 + member_id %% 300) * interval '1 day' END
FROM loyalty_ledgerentry
""",
    """
INSERT INTO loyalty_activityevent (
    idempotency_key, member_id, type, occurred_at, attributes, amount, currency, points_awarded, result,
    received_at)
SELECT 'p-' || g || '-' || k, g, 'purchase', now() - ((g * (k + 3)) %% 365) * interval '1 day',
       '{}', ((g * (k + 5)) %% 1200)::numeric, 'EUR', 0, '{}', now()
FROM generate_series(1, %(members)s) g, generate_series(1, 2) k
""",
]
SEQUENCES = """
SELECT setval(pg_get_serial_sequence('loyalty_member', 'id'), %(members)s);
SELECT setval(pg_get_serial_sequence('loyalty_ledgerentry', 'id'), 2 * %(members)s)
"""


def _seed() -> None:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from loyalty.models import ProgrammeSettings
    from loyalty.services.programme import programme_settings_update
    from loyalty.services.tiers import tier_create, tiers_evaluate_all

    programme_settings_update(
        data={
            "tier_metric": "amount_spent",
            "tier_window": "rolling_months",
            "tier_window_months": 9,
            "tier_downgrade": "grace",
            "tier_grace_days": 30,
        }
    )
    for code, threshold in (("member", 0), ("silver", 300), ("gold", 1000), ("vip", 1800)):
        tier_create(data={"code": code, "name": code.title(), "threshold": threshold})
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in SEED:
            sql = statement.replace("OLD", OLD_POINTS).replace("NEW", NEW_POINTS)
            cursor.execute(sql, {"members": MEMBERS})
        for statement in SEQUENCES.split(";"):
            cursor.execute(statement, {"members": MEMBERS})
        for table in ("member", "ledgerentry", "pointlot", "activityevent"):
            cursor.execute(f"VACUUM ANALYZE loyalty_{table}")
    seconds = time.perf_counter() - started
    print(f"seeded {MEMBERS:,} members, {2 * MEMBERS:,} lots, {2 * MEMBERS:,} purchases: {seconds:.0f} s")
    started = time.perf_counter()
    placed = tiers_evaluate_all(at=timezone.now() - timedelta(days=1))
    seconds = time.perf_counter() - started
    print(f"yesterday's nightly, placing every member for the first time: {placed:,} in {seconds:.1f} s")
    ProgrammeSettings.objects.update(programme_name=SEEDED)


def main() -> None:
    django_setup()
    from django.db import connection, transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from loyalty.services.expiry import points_expire_due
    from loyalty.services.tiers import tiers_evaluate_all

    brand = seeded_brand(slug=SLUG, name="Bench nightly", seed=_seed, seeded=SEEDED)

    with schema_context(brand.schema_name), transaction.atomic():
        now = timezone.now()
        started = time.perf_counter()
        expired = points_expire_due(at=now)
        expiry_seconds = time.perf_counter() - started
        started = time.perf_counter()
        changed = tiers_evaluate_all(at=now)
        tiers_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM loyalty_ledgerentry WHERE kind = 'expire'")
            expire_entries = cursor.fetchone()[0]
            cursor.execute("SELECT COUNT(*) FROM loyalty_member WHERE tier_below_since IS NOT NULL")
            in_grace = cursor.fetchone()[0]
        started = time.perf_counter()
        again = points_expire_due(at=now), tiers_evaluate_all(at=now)
        rerun_seconds = time.perf_counter() - started
        transaction.set_rollback(True)  # keep the seed as it was for the next run

    total = expiry_seconds + tiers_seconds
    print(f"expiry: {expired:,} points in {expire_entries:,} expire entries: {expiry_seconds:.1f} s")
    print(f"tiers: {changed:,} members changed tier, {in_grace:,} in a grace period: {tiers_seconds:.1f} s")
    verdict = "met" if total < 120 else "NOT met"
    print(
        f"nightly expiry + tier re-evaluation of {MEMBERS:,} members: {total:.1f} s [goal < 120 s: {verdict}]"
    )
    print(
        f"run again at once (idempotent: {again[0]} points, {again[1]} tier changes): {rerun_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
