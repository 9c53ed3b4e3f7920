#!/usr/bin/env python3
"""Issue 4: redemptions per second for 8 concurrent clients, on a catalogue of 500 gifts with
100,000 members.

A fresh brand on the bench database, seeded set-based: 500 gifts (450 physical, a tenth of them
with a stock; 50 vouchers with 2,000 codes each), 100,000 members holding 10,000 points each (one
earn entry and one lot per member, so balance == sum(entries)). Figures:
- `POST /api/v1/members/{id}/redemptions` from 8 concurrent HTTP clients (keep-alive), served by
  the web server as `make run` serves it (DEBUG off); each redemption is 1 or 2 random gifts for a random
  member, with a shipping address and its own Idempotency-Key;
- the same redemptions through `order_place` from 8 threads in one process (no HTTP): the service's
  own ceiling.
After each run the invariants are checked (orders == successes, stock taken == quantities ordered,
every sampled balance == its ledger). It prints figures; it does not assert. The brand is dropped.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from _setup import django_setup, free_port, web_start

MEMBERS = int(os.environ.get("BENCH_REDEEM_MEMBERS", "100000"))
GIFTS = 500
REQUESTS = int(os.environ.get("BENCH_REDEEM_REQUESTS", "2000"))
CLIENTS = 8
WORKERS = os.environ.get("BENCH_REDEEM_WORKERS", "2")
ADDRESS = {
    "name": "Bench Member",
    "line1": "1 rue du Banc",
    "postal_code": "75001",
    "city": "Paris",
    "country": "FR",
}

CATALOGUE_SQL = """
INSERT INTO catalog_category (name, slug, position)
SELECT 'Category ' || c, 'category-' || c, c FROM generate_series(1, 10) AS c;

INSERT INTO catalog_gift (
    reference, name, description, category_id, kind, points_price, retail_value, retail_currency,
    stock, limit_per_member, available_from, available_until, vip_only, is_active, is_featured,
    in_printed_catalogue, position, charity_name, donation_amount, donation_currency, service_code,
    service_quantity, created_at, updated_at
)
SELECT 'GIFT-' || lpad(g::text, 4, '0'), 'Gift ' || g, 'A gift of the bench catalogue',
       (SELECT id FROM catalog_category ORDER BY id OFFSET g %% 10 LIMIT 1),
       CASE WHEN g %% 10 = 0 THEN 'voucher' ELSE 'physical' END,
       100 + (g %% 20) * 50, NULL, '',
       CASE WHEN g %% 10 = 1 THEN 1000000 END, NULL, NULL, NULL, false, true, g %% 25 = 0,
       g <= 40, g, '', NULL, '', '', NULL, now(), now()
FROM generate_series(1, %(gifts)s) AS g;

INSERT INTO catalog_vouchercode (gift_id, code, created_at)
SELECT gift.id, gift.reference || '-' || lpad(c::text, 5, '0'), now()
FROM catalog_gift AS gift, generate_series(1, 2000) AS c
WHERE gift.kind = 'voucher';
"""

POINTS_SQL = """
INSERT INTO loyalty_member (
    external_id, kind, company_name, siret, first_name, last_name, email, phone, address_line1,
    address_line2, postal_code, city, country, language, tags, is_vip, balance, overdraft_limit,
    points_owed, status, joined_at, created_at, updated_at
)
SELECT 'M' || lpad(n::text, 7, '0'), 'customer', '', '', 'Member', n::text, '', '', '', '', '', '',
       'FR', 'fr', '{}', false, 10000, 0, 0, 'active', now() - interval '1 day', now(), now()
FROM generate_series(0, %(members)s - 1) AS n;

INSERT INTO loyalty_ledgerentry (
    member_id, kind, points, balance_after, created_at, reason, source, explanation
)
SELECT id, 'earn', 10000, 10000, now() - interval '1 day', 'bench seed', '', '{}' FROM loyalty_member;

INSERT INTO loyalty_pointlot (member_id, entry_id, points, remaining, available_at, expires_at)
SELECT member_id, id, points, points, created_at, NULL FROM loyalty_ledgerentry;

ANALYZE loyalty_member; ANALYZE loyalty_ledgerentry; ANALYZE loyalty_pointlot;
ANALYZE catalog_gift; ANALYZE catalog_vouchercode;
"""


def brand_seed() -> tuple[object, str]:
    from django.db import connection
    from django_tenants.utils import schema_context

    from core.apikeys import api_key_create
    from tenants.services import brand_create

    brand, _ = brand_create(
        slug=f"bench-redeem-{uuid.uuid4().hex[:6]}",
        name="Redeem bench",
        admin_email="admin@bench.example",
        admin_password="x" * 16,
    )
    with schema_context(brand.schema_name):
        with connection.cursor() as cursor:
            # One statement per execute: parameters are bound by the server (config/settings.py),
            # and a prepared statement holds one command.
            for script, params in ((CATALOGUE_SQL, {"gifts": GIFTS}), (POINTS_SQL, {"members": MEMBERS})):
                for statement in filter(str.strip, script.split(";")):
                    cursor.execute(statement, params)
        _, key = api_key_create(name="bench", rate_limit_per_minute=10_000_000)
    return brand, key


def redemptions(gift_ids: list[int], seed: int) -> list[tuple[str, list[dict]]]:
    """REQUESTS redemptions: distinct random members, 1 or 2 distinct random gifts each."""
    rng = random.Random(seed)
    members = rng.sample(range(MEMBERS), REQUESTS)
    return [
        (f"M{n:07d}", [{"gift_id": g, "quantity": 1} for g in rng.sample(gift_ids, rng.choice((1, 1, 2)))])
        for n in members
    ]


@dataclass
class Run:
    ok: int = 0
    refused: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_failure: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, success: bool, failure: str = "") -> None:
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
            if success:
                self.ok += 1
            else:
                self.refused += 1
                self.first_failure = self.first_failure or failure

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else float("nan")

    def line(self, label: str) -> str:
        rate = self.ok / self.seconds if self.seconds else 0.0
        text = (
            f"{label}: {rate:,.0f} redemptions/s ({self.ok:,} orders in {self.seconds:.1f} s, "
            f"p50 {self.percentile(0.5):.1f} ms, p95 {self.percentile(0.95):.1f} ms, "
            f"p99 {self.percentile(0.99):.1f} ms, {self.refused} refused)"
        )
        return text + (f"\n    first refusal: {self.first_failure}" if self.first_failure else "")


def in_threads(work: list, client) -> Run:
    """`client(share, run)` in CLIENTS threads, each on its share of the work, all started together."""
    run = Run()
    barrier = threading.Barrier(CLIENTS + 1)

    def body(share: list) -> None:
        barrier.wait()
        client(share, run)

    threads = [threading.Thread(target=body, args=(work[i::CLIENTS],)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - started
    return run


def over_http(port: int, host: str, key: str, work: list) -> Run:
    def client(share: list, run: Run) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for external_id, items in share:
            started = time.perf_counter()
            conn.request(
                "POST",
                f"/api/v1/members/{external_id}/redemptions",
                body=json.dumps({"items": items, "shipping_address": ADDRESS}),
                headers={
                    "Host": host,
                    "Authorization": f"Api-Key {key}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            response = conn.getresponse()
            payload = response.read()
            run.record(started, response.status == 201, f"{response.status} {payload[:300]!r}")
        conn.close()

    return in_threads(work, client)


def in_process(brand, work: list) -> Run:
    from django.db import connection

    from catalog.services import RedeemItem, ShippingAddress, order_place
    from core.errors import DomainError
    from loyalty.models import Member

    ids = dict(Member.objects.filter(external_id__in=[w[0] for w in work]).values_list("external_id", "pk"))

    def client(share: list, run: Run) -> None:
        connection.set_tenant(brand)
        try:
            for external_id, items in share:
                started = time.perf_counter()
                try:
                    order_place(
                        member_id=ids[external_id],
                        items=[RedeemItem(**item) for item in items],
                        shipping=ShippingAddress(**ADDRESS),
                        idempotency_key=uuid.uuid4().hex,
                        actor="bench",
                    )
                except DomainError as error:
                    run.record(started, False, f"{error.code}: {error.message}")
                else:
                    run.record(started, True)
        finally:
            connection.close()

    return in_threads(work, client)


def invariants(orders_expected: int) -> str:
    """Orders == successes, stock taken == quantities ordered, sampled balances == their ledgers."""
    from django.db.models import Sum

    from catalog.models import Gift, Order, OrderLine, VoucherCode
    from loyalty.models import Member
    from loyalty.services.ledger import ledger_sum

    orders = Order.objects.count()
    stocked = Gift.objects.filter(stock__isnull=False)
    taken = 1_000_000 * stocked.count() - (stocked.aggregate(s=Sum("stock"))["s"] or 0)
    ordered = OrderLine.objects.filter(gift__in=stocked).aggregate(q=Sum("quantity"))["q"] or 0
    codes = VoucherCode.objects.filter(order_line__isnull=False).count()
    voucher_units = OrderLine.objects.filter(kind="voucher").aggregate(q=Sum("quantity"))["q"] or 0
    sample = Member.objects.filter(orders__isnull=False).distinct().order_by("?")[:200]
    wrong = [m.external_id for m in sample if m.balance != ledger_sum(member_id=m.pk) or m.balance < 0]
    ok = orders == orders_expected and taken == ordered and codes == voucher_units and not wrong
    return (
        f"    invariants {'hold' if ok else 'BROKEN'}: {orders:,} orders, "
        f"stock taken {taken:,} = ordered {ordered:,}, "
        f"{codes:,} codes for {voucher_units:,} voucher units, 200 sampled balances == their ledger"
        + (f" except {wrong[:5]}" if wrong else "")
    )


def main() -> None:
    django_setup()
    from django.db import connection

    from catalog.models import Gift, Order

    started = time.perf_counter()
    brand, key = brand_seed()
    print(
        f"brand {brand.slug}: {GIFTS} gifts (50 voucher pools of 2,000 codes), {MEMBERS:,} members with "
        f"10,000 points, seeded in {time.perf_counter() - started:.1f} s; os.cpu_count() = {os.cpu_count()}"
    )
    port = free_port()
    server = web_start(port=port, workers=WORKERS)
    try:
        connection.set_tenant(brand)
        gift_ids = list(Gift.objects.values_list("pk", flat=True))
        host = brand.domains.get(is_primary=True).domain
        over_http(port, host, key, redemptions(gift_ids, seed=1)[:200])  # warm-up: imports, connections
        connection.set_tenant(brand)
        before = Order.objects.count()
        run = over_http(port, host, key, redemptions(gift_ids, seed=2))
        print(
            run.line(
                f"POST /api/v1/members/{{id}}/redemptions, {CLIENTS} concurrent clients, "
                f"granian {WORKERS} workers (ASGI)"
            )
        )
        connection.set_tenant(brand)
        print(invariants(before + run.ok))

        before = Order.objects.count()
        run = in_process(brand, redemptions(gift_ids, seed=3))
        connection.set_tenant(brand)
        print(run.line(f"order_place in one process, {CLIENTS} threads (no HTTP)"))
        print(invariants(before + run.ok))
    finally:
        server.terminate()
        server.wait(timeout=30)
        connection.set_schema_to_public()
        brand.delete(force_drop=True)


if __name__ == "__main__":
    main()
