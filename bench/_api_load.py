"""The API bench's clients: realistic events, sent one by one by N concurrent clients or in batches."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


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


class _Connection:
    """One keep-alive HTTP/1.1 connection on plain asyncio streams. The load generator shares the
    machine's cores with the server: a full HTTP client library cost about 0.8 ms of CPU per request,
    a tenth of what the server spends on an event, so the client is kept to this."""

    def __init__(self, base_url: str) -> None:
        host_port = base_url.split("://", 1)[1].rstrip("/")
        self.address, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one whole request; return the response's status and body. A keep-alive connection
        the server closed meanwhile is opened again and the request sent once more (events are
        idempotent by their keys); a server that does not answer in 300 s fails the run."""
        try:
            return await asyncio.wait_for(self._exchange(request), timeout=300)
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            return await asyncio.wait_for(self._exchange(request), timeout=300)

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.address, self.port)
        reader, writer = self.streams
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {
            name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:  # the body ends with the connection
            body = await reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def _request_bytes(*, host: str, key: str, path: str, body: dict, extra: dict) -> bytes:
    payload = json.dumps(body).encode()
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: Api-Key {key}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in extra.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


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
    """Send the requests, `concurrency` at a time (one connection each), until they are all sent or
    `seconds` have passed (each client then finishes the request it has in flight)."""
    position = 0

    async def client() -> None:
        nonlocal position
        connection = _Connection(base_url)
        try:
            while position < len(requests) and time.perf_counter() < deadline:
                path, body, extra = requests[position]
                position += 1
                request = _request_bytes(host=host, key=key, path=path, body=body, extra=extra)
                started = time.perf_counter()
                status, payload = await connection.exchange(request)
                run.latencies.append(time.perf_counter() - started)
                run.requests += 1
                if status != expect:
                    run.failed += 1
                    run.first_failure = run.first_failure or f"{status} {payload[:300]!r}"
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
        finally:
            await connection.close()

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
    """The bodies in `POST /api/v1/events/batch` requests of `size` events, each with its `id`.

    Each batch on a connection of its own (`Connection: close`), as from independent senders: the
    server's worker process is drawn anew for each. On kept-alive connections, the 2 clients stayed
    on the worker processes they first met for the whole run, and when that was the same one (one
    run in two, with 2 workers) both batches shared its one interpreter lock: 2,000 events/s
    instead of 3,400, a coin toss per run rather than a measure of the server."""
    requests = []
    for start in range(0, len(bodies), size):
        events = [{**body, "id": uuid.uuid4().hex} for body in bodies[start : start + size]]
        requests.append(("/api/v1/events/batch", {"events": events}, {"Connection": "close"}))
    return _send(requests=requests, concurrency=concurrency, seconds=seconds, **target)
