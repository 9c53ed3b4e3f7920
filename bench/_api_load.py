"""The API bench's clients: realistic events, sent one by one by N concurrent clients or in batches."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp


def event_body(rng: random.Random, *, members: int, now: datetime) -> dict:
    """A purchase (80 %), a trip (15 %) or a damage report, by a random member, in the last week."""
    occurred = now - timedelta(minutes=rng.randint(1, 7 * 24 * 60))
    body = {"member": f"M{rng.randint(1, members):07d}", "occurred_at": occurred.isoformat()}
    draw = rng.random()
    if draw < 0.80:
        items = [
            {
                "sku": f"SKU-{rng.randint(1, 500)}",
                "category": "featured" if rng.random() < 0.2 else "standard",
                "quantity": rng.randint(1, 3),
                "unit_price": f"{rng.randint(200, 6000) / 100:.2f}",
            }
            for _ in range(rng.randint(1, 3))
        ]
        amount = sum(item["quantity"] * float(item["unit_price"]) for item in items)
        body.update(
            type="purchase", attributes={"amount": f"{amount:.2f}", "currency": "EUR", "items": items}
        )
    elif draw < 0.95:
        start = occurred - timedelta(minutes=rng.randint(10, 60))
        body.update(
            type="trip",
            attributes={
                "zone_from": rng.randint(1, 4),
                "zone_to": 1,
                "start": start.isoformat(),
                "end": occurred.isoformat(),
            },
        )
    else:
        body.update(type="damage_report", attributes={"vehicle": f"CAR-{rng.randint(1, 900)}"})
    return body


def event_bodies(count: int, *, members: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    return [event_body(rng, members=members, now=now) for _ in range(count)]


@dataclass
class Run:
    requests: int = 0
    events: int = 0
    failed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_failure: str = ""

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else float("nan")

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def _drive(
    *,
    base_url: str,
    host: str,
    key: str,
    requests: list[tuple[str, dict, dict]],
    concurrency: int,
    seconds: float,
    run: Run,
    expect: int,
) -> None:
    """Send the requests, `concurrency` at a time, until they are all sent or `seconds` have passed
    (each client then finishes the request it has in flight)."""
    headers = {"Host": host, "Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
    position = 0
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency), headers=headers, timeout=timeout
    ) as session:

        async def client() -> None:
            nonlocal position
            while position < len(requests) and time.perf_counter() < deadline:
                path, body, extra = requests[position]
                position += 1
                started = time.perf_counter()
                async with session.post(base_url + path, data=json.dumps(body), headers=extra) as response:
                    payload = await response.read()
                run.latencies.append(time.perf_counter() - started)
                run.requests += 1
                if response.status != expect:
                    run.failed += 1
                    run.first_failure = run.first_failure or f"{response.status} {payload[:300]!r}"
                    continue
                if path.endswith("/batch"):
                    results = json.loads(payload)["results"]
                    errors = [result for result in results if "error" in result]
                    run.events += len(results) - len(errors)
                    run.failed += len(errors)
                    if errors and not run.first_failure:
                        run.first_failure = json.dumps(errors[0])[:300]
                else:
                    run.events += 1

        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(client() for _ in range(concurrency)))
        run.seconds = time.perf_counter() - started


def _send(*, requests: list, concurrency: int, seconds: float, expect: int = 200, **target: str) -> Run:
    run = Run()
    asyncio.run(
        _drive(**target, requests=requests, concurrency=concurrency, seconds=seconds, run=run, expect=expect)
    )
    return run


def singles_send(*, bodies: list[dict], concurrency: int, seconds: float, **target: str) -> Run:
    """Each body as one `POST /api/v1/events` with its own Idempotency-Key, `concurrency` at a time,
    for at most `seconds`. `target`: base_url, host, key."""
    requests = [("/api/v1/events", body, {"Idempotency-Key": uuid.uuid4().hex}) for body in bodies]
    return _send(requests=requests, concurrency=concurrency, seconds=seconds, expect=201, **target)


def rejects_send(*, bodies: list[dict], concurrency: int, seconds: float, **target: str) -> Run:
    """Events without `occurred_at`: the API authenticates, rate-limits and refuses them (400) before
    the events service, so this measures the API's own cost per request."""
    requests = [
        ("/api/v1/events", {k: v for k, v in body.items() if k != "occurred_at"}, {"Idempotency-Key": "x"})
        for body in bodies
    ]
    return _send(requests=requests, concurrency=concurrency, seconds=seconds, expect=400, **target)


def batches_send(*, bodies: list[dict], size: int, concurrency: int, seconds: float, **target: str) -> Run:
    """The bodies in `POST /api/v1/events/batch` requests of `size` events, each with its `id`."""
    requests = []
    for start in range(0, len(bodies), size):
        events = [{**body, "id": uuid.uuid4().hex} for body in bodies[start : start + size]]
        requests.append(("/api/v1/events/batch", {"events": events}, {}))
    return _send(requests=requests, concurrency=concurrency, seconds=seconds, **target)
