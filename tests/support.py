"""Helpers shared by test modules: the API test client, the check of the API's error shape, the
ledger's invariants, and work run by threads started at once."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import stripe
from django.db import close_old_connections, connection, transaction
from django.db.models import Sum
from django.http import HttpResponse
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from billing.services.events import stripe_event_handle, stripe_event_store
from loyalty.models import LedgerEntry, Member, PointLot
from tenants.models import StripeAccount, StripeEvent
from tests.conftest import TEST_PASSWORD, host_of
from tests.fakes.stripe import FakeStripe

# A Tuesday afternoon in Paris, not a public holiday: every channel may send then (messaging.policy's
# sending hours). Tests that send marketing SMS or calls travel to it (`time_machine.travel`).
SENDING_HOURS = datetime(2027, 1, 12, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))


@dataclass
class ApiClient:
    """A test client on one brand's host that sends `Authorization: Api-Key <key>` and JSON."""

    brand: object
    key: str
    raise_errors: bool = True  # False: a server error is a 500 response, as a real client sees it

    def _client(self) -> Client:
        return Client(HTTP_HOST=host_of(self.brand), raise_request_exception=self.raise_errors)

    def _headers(self, headers: dict | None) -> dict:
        sent = {"HTTP_AUTHORIZATION": f"Api-Key {self.key}"} if self.key else {}
        for name, value in (headers or {}).items():
            sent["HTTP_" + name.upper().replace("-", "_")] = value
        return sent

    def get(self, path: str, *, headers: dict | None = None):
        return self._client().get(path, **self._headers(headers))

    def send(self, method: str, path: str, body=None, *, headers: dict | None = None, raw: str | None = None):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return getattr(self._client(), method)(
            path, data=data, content_type="application/json", **self._headers(headers)
        )

    def post(self, path: str, body=None, **kwargs):
        return self.send("post", path, body, **kwargs)

    def put(self, path: str, body=None, **kwargs):
        return self.send("put", path, body, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.send("delete", path, None, **kwargs)


def error_of(response, status: int) -> dict:
    """The response's error, after checking its status and the shape every API error shares."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"field", "message", "code"}
    if error["field"]:
        assert error["message"].startswith(f"{error['field']}:"), error
    return error


def assert_invariants(member_id: int) -> None:
    member = Member.objects.get(pk=member_id)
    entries = LedgerEntry.objects.filter(member_id=member_id).aggregate(total=Sum("points"))["total"] or 0
    lots = PointLot.objects.filter(member_id=member_id).aggregate(total=Sum("remaining"))["total"] or 0
    assert member.balance == entries, "balance must equal the sum of the entries"
    assert lots - member.points_owed == member.balance, "open lots minus debt must equal the balance"
    assert member.balance >= -member.overdraft_limit


def run_concurrently(count: int, work) -> list:
    """`work(index)` in `count` threads released together; its results, or the errors raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:
            results[index] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def free_port() -> int:
    """A TCP port of the loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(port: int, host: str, path: str = "/") -> int | None:
    """The status of `GET path` on the local server at `port` for `host`, or None if it does not answer."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"Host": f"{host}:{port}"})
        return conn.getresponse().status
    except OSError:
        return None


def _dns_answer(data: bytes, records: dict[tuple[str, str], list[str]]) -> bytes:
    query = dns.message.from_wire(data)
    response = dns.message.make_response(query)
    question = query.question[0]
    name = question.name.to_text(omit_final_dot=True).lower()
    kind = dns.rdatatype.to_text(question.rdtype)
    values = records.get((name, kind))
    if values:
        texts = [f'"{value}"' if kind == "TXT" else value for value in values]
        response.answer.append(dns.rrset.from_text(question.name, 60, "IN", kind, *texts))
    elif not any(known == name for known, _ in records):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return response.to_wire()


@contextmanager
def dns_served(records: dict[tuple[str, str], list[str]]) -> Iterator[int]:
    """A DNS server on a free UDP port of the loopback: its port. It answers `records`
    ({("name", "TXT"): ["text"], ("name", "A"): ["127.0.0.1"]}, read at each question: a test may
    add records meanwhile), NXDOMAIN for a name it has nothing of."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            sock.sendto(_dns_answer(data, records), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


# --- Stripe (billing) ---------------------------------------------------------------------------


@contextmanager
def stripe_served(*brands) -> Iterator[FakeStripe]:
    """The fake Stripe served, the settings pointing at it, and each of `brands` connected to an
    account of its own there (`StripeAccount` rows, in the test's transaction)."""
    with (
        FakeStripe() as fake,
        override_settings(
            STRIPE_API_BASE=fake.base_url,
            STRIPE_SECRET_KEY=fake.api_key,
            STRIPE_WEBHOOK_SECRET=fake.webhook_secret,
        ),
    ):
        for brand in brands:
            account = fake.account_add()
            StripeAccount.objects.create(
                brand=brand, account_id=account["id"], charges_enabled=True, payouts_enabled=True
            )
        yield fake


def stripe_account_of(brand) -> str:
    return StripeAccount.objects.get(brand=brand).account_id


def stripe_subscribe(
    fake: FakeStripe,
    *,
    brand,
    member_id: int,
    unit_amount: int = 990,
    currency: str = "eur",
    interval: str = "month",
    trial_days: int = 0,
    at: int | None = None,
) -> list[dict]:
    """A member's checkout on the brand's account of the fake Stripe, made through the stripe library
    (a product, a price, a Checkout session naming the member) and paid: the events Stripe sends
    (checkout.session.completed, customer.subscription.created, invoice.paid)."""
    client = stripe.StripeClient(fake.api_key, base_addresses={"api": fake.base_url})
    account = stripe_account_of(brand)

    def options() -> dict:
        return {"stripe_account": account, "idempotency_key": uuid.uuid4().hex}

    product = client.v1.products.create(params={"name": "VIP"}, options=options())
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "unit_amount": unit_amount,
            "currency": currency,
            "recurring": {"interval": interval},
        },
        options=options(),
    )
    reference = {"brand": brand.schema_name, "member_id": str(member_id)}
    subscription_data: dict = {"metadata": reference}
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "success_url": "https://shop.example/vip/",
            "line_items": [{"price": price.id, "quantity": 1}],
            "client_reference_id": str(member_id),
            "metadata": reference,
            "subscription_data": subscription_data,
        },
        options=options(),
    )
    return fake.checkout_complete(session.id, at=at)


def stripe_post(client: Client, fake: FakeStripe, event: dict | bytes | str, **signing) -> HttpResponse:
    """`event` signed by the fake as Stripe signs it, POSTed to the platform's webhook."""
    signed = fake.signed(event, **signing)
    return client.post(
        "/hooks/stripe/",
        data=signed.body,
        content_type="application/json",
        headers={"Stripe-Signature": signed.signature},
    )


def stripe_deliver(*events: dict) -> list[StripeEvent]:
    """Each event stored as the webhook stores it and handled in its brand's schema, as the task
    queued after commit would (a test's transaction never commits): the events as stored."""
    stored = []
    for payload in events:
        event, _ = stripe_event_store(payload=payload)
        if event.brand is not None:
            with schema_context(event.brand.schema_name):
                stripe_event_handle(event_id=event.pk)
        event.refresh_from_db()
        stored.append(event)
    return stored


# --- the browser (e2e) ---------------------------------------------------------------------------

# Records what the Content-Security-Policy blocks in `window.__cspViolations` (an init script).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def _log_in(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + next_url)


def schema_signature(schema: str, *, sequence_values: bool = True) -> dict[str, list]:
    """What a schema is made of, its own name left out: two schemas with the same signature have the
    same tables, columns, constraints, indexes, triggers, functions and sequences (and where the
    sequences stand, unless `sequence_values` is false: a brand's own rows move them)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT oid, quote_ident(nspname) FROM pg_namespace WHERE nspname = %s", [schema])
        oid, quoted = cursor.fetchone()
        cursor.execute("SELECT set_config('search_path', %s, true)", [quoted])
        signature = {}
        for part, query in _SIGNATURE.items():
            cursor.execute(query, {"ns": oid, "schema": schema})
            signature[part] = [
                tuple(_canonical(str(value).replace(f" {quoted}.", " <schema>.")) for value in row)
                for row in cursor.fetchall()
            ]
    connection.search_path_set_schemas = None
    if not sequence_values:
        signature["sequences"] = [row[:-1] for row in signature["sequences"]]
    return signature


def _canonical(definition: str) -> str:
    """A partial index's predicate made again from its definition's text is the same condition but
    may print otherwise (`ANY ((ARRAY['a'::varchar])::text[])` against `ANY (ARRAY[('a'::varchar)::text])`):
    compared without parentheses and casts."""
    if " WHERE " not in definition:
        return definition
    head, predicate = definition.split(" WHERE ", 1)
    bare = _CASTS.sub("", predicate).replace("(", "").replace(")", "")
    return f"{head} WHERE {bare}"


_CASTS = re.compile(r"::[a-z ]+(\[\])?")


_SIGNATURE = {
    "relations": """
        SELECT relname, relkind, relpersistence, reloptions, obj_description(oid, 'pg_class') FROM pg_class
        WHERE relnamespace = %(ns)s ORDER BY 1""",
    "columns": """
        SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
               pg_get_expr(d.adbin, d.adrelid), a.attstorage, a.attcompression, a.attcollation,
               col_description(c.oid, a.attnum)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(ns)s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2""",
    "constraints": """
        SELECT t.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred
        FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
        WHERE k.connamespace = %(ns)s ORDER BY 1, 2""",
    "indexes": """
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = %(ns)s ORDER BY 1""",
    "triggers": """
        SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal ORDER BY 1, 2""",
    "functions": """
        SELECT proname, pg_get_function_arguments(oid), md5(prosrc) FROM pg_proc
        WHERE pronamespace = %(ns)s ORDER BY 1""",
    "sequences": """
        SELECT sequencename, data_type, start_value, increment_by, max_value, cache_size, last_value
        FROM pg_sequences WHERE schemaname = %(schema)s ORDER BY 1""",
}


def platform_module(name: str):
    """`platform/<name>.py`, loaded by path (`platform` is also a standard library module)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "platform" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"loyalty_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def dashboard_figures(staff, *names: str) -> dict[str, str]:
    """The figures of the dashboard's CSVs `names` ("liability", "members"...), read by `staff`
    (a logged-in client): {label: value}."""
    import csv
    import io

    figures: dict[str, str] = {}
    for name in names:
        response = staff.get(f"/backoffice/dashboard/{name}.csv")
        assert response.status_code == 200, (name, response.status_code)
        figures.update(csv.reader(io.StringIO(response.content.decode())))
    return figures


# A copy of a cluster this big takes minutes (a bench's thousand brands): not in a quick test.
REPLICA_CLUSTER_MAX_BYTES = 1 << 30


@contextmanager
def replica_served(django_db_blocker) -> Iterator[object]:
    """A streaming replica of the embedded server (platform/replica.py), attached as the database
    `replica` while it lasts; skips the test on an external server or a cluster too big to copy."""
    import os

    import pytest

    replicas = platform_module("replica")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT sum(pg_database_size(datname)) FROM pg_database")
        size = cursor.fetchone()[0]
    if os.environ.get("DATABASE_URL"):
        pytest.skip("an external PostgreSQL: platform/replica.py copies the embedded server only")
    if size > REPLICA_CLUSTER_MAX_BYTES:
        pytest.skip(
            f"the cluster holds {size / (1 << 30):.1f} GiB, minutes to copy: run on an embedded server "
            "of the tests' own (LOYALTY_VAR_DIR, EMBEDDED_PG_PORT, EMBEDDED_REDIS_PORT)"
        )
    running = replicas.replica_start()
    try:
        with replicas.replica_attached(running):
            yield running
    finally:
        replicas.replica_stop(running)
