#!/usr/bin/env python3
"""Issue 3, at the service level (no HTTP): events per second through `events_record_batch` (batches
of 1,000, one client) and `event_record` (8 threads, each on its own connection), with p50/p95, on
a fresh brand of 100,000 members and the API bench's 5 rules (bench/_api_seed.py), on the bench
database. What the API adds on top is measured by bench/api_events.py. Checks the ledger invariant
(balance == sum of entries for every member) at the end; prints the load average (the machine may
be shared). The brand is dropped at the end.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from _api_load import event_bodies
from _api_seed import brand_seed
from _setup import django_setup

MEMBERS = int(os.environ.get("BENCH_EVENTS_MEMBERS", "100000"))
BATCH_EVENTS = int(os.environ.get("BENCH_EVENTS_BATCH", "5000"))
SINGLE_EVENTS = int(os.environ.get("BENCH_EVENTS_SINGLE", "2000"))
THREADS = 8


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    django_setup()
    from django.db import connection

    from loyalty.services.events import EventInput, event_record, events_record_batch

    def inputs(count: int, seed: int) -> list[EventInput]:
        return [
            EventInput(
                member=body["member"],
                type=body["type"],
                occurred_at=datetime.fromisoformat(body["occurred_at"]),
                attributes=body["attributes"],
                idempotency_key=uuid.uuid4().hex,
            )
            for body in event_bodies(count, members=MEMBERS, seed=seed)
        ]

    started = time.perf_counter()
    brand, _ = brand_seed(slug=f"bench-events-{uuid.uuid4().hex[:6]}", members=MEMBERS)
    print(f"brand: {MEMBERS:,} members, 5 rules, seeded in {time.perf_counter() - started:.1f} s")
    try:
        connection.set_tenant(brand)
        events_record_batch(items=inputs(200, seed=9))  # warm-up
        items = inputs(BATCH_EVENTS, seed=2)
        started = time.perf_counter()
        for first in range(0, len(items), 1000):
            results = events_record_batch(items=items[first : first + 1000])
            errors = [result for result in results if "error" in result]
            assert not errors, errors[:2]
        elapsed = time.perf_counter() - started
        print(f"batches of 1,000, 1 client: {len(items) / elapsed:,.0f} events/s (load {load_average()})")

        singles = inputs(SINGLE_EVENTS, seed=3)
        latencies: list[float] = []
        lock = threading.Lock()

        def client(chunk: list[EventInput]) -> None:
            connection.set_tenant(brand)
            try:
                for item in chunk:
                    start = time.perf_counter()
                    event_record(data=item)
                    with lock:
                        latencies.append(time.perf_counter() - start)
            finally:
                connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(client, [singles[index::THREADS] for index in range(THREADS)]))
        elapsed = time.perf_counter() - started
        latencies.sort()
        p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
        print(
            f"single events, {THREADS} threads: {len(singles) / elapsed:,.0f} events/s, "
            f"p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms (load {load_average()})"
        )
        connection.set_tenant(brand)
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT COUNT(*) FROM loyalty_member m
                   WHERE m.balance <> (SELECT COALESCE(SUM(points), 0) FROM loyalty_ledgerentry e
                                       WHERE e.member_id = m.id)"""
            )
            print(f"members whose balance differs from their entries: {cursor.fetchone()[0]}")
    finally:
        connection.set_schema_to_public()
        brand.delete(force_drop=True)


if __name__ == "__main__":
    main()
