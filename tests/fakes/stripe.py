"""A local fake of Stripe's REST API (Connect, products, prices, customers, Checkout, the customer
portal, subscriptions) at its HTTP boundary, and of its webhooks, for tests and benches.

    with FakeStripe() as fake:                   # a real HTTP server on 127.0.0.1, in threads
        settings.STRIPE_API_BASE = fake.base_url
        settings.STRIPE_SECRET_KEY = fake.api_key
        settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
        ... call the `stripe` library (StripeClient with base_addresses={"api": fake.base_url}) ...
        fake.requests                            # every request received, as `Received`, in order
        fake.fail_next(500)                      # the next request: Stripe's api_error JSON
        account = fake.account_add()             # a connected account, onboarded, no API call
        events = fake.checkout_complete(cs_id)   # the member paid: checkout.session.completed,
                                                 # customer.subscription.created, invoice.paid
        events = fake.subscription_renew(sub_id) # invoice.paid + customer.subscription.updated
        events = fake.invoice_fail(sub_id)       # invoice.payment_failed + ...updated (past_due)
        event = fake.subscription_cancel(sub_id, at_period_end=True)
        event = fake.account_onboard(acct_id)    # account.updated, charges and payouts enabled
        fake.send_event(url, event)              # signed as Stripe signs, POSTed: the status

The API checks what Stripe checks, and what our code must send: the secret key as a Bearer token
(401 otherwise); the `Stripe-Account` header on connected-account calls (products, prices,
customers, Checkout and portal sessions, subscriptions: 400 without it, 403 for an account the
platform does not have); an `Idempotency-Key` on every POST (the same key with the same body on
the same account answers the first object again with `Idempotent-Replayed: true`, with another
body a 400 `idempotency_error`); the form fields as the library encodes them (`line_items[0]
[price]`, `subscription_data[application_fee_percent]`...: unknown ones, missing ones, a price of
another account, `application_fee_percent` on a platform call, `trial_period_days` under 1, a
changed `unit_amount` on a price are refused as Stripe refuses them). Answers are Stripe's JSON
objects (`object`, `id` prefixed as Stripe's, `created` in Unix seconds, `livemode: false`...) and
its errors (`{"error": {"type": "invalid_request_error", "code", "message", "param"}}`).

Events are built as Stripe builds them (`object: "event"`, `account` for a connected account,
`data.object`, `data.previous_attributes` on updates) and signed as Stripe signs them: header
`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`.
Subscriptions carry their period at the top level (API versions before 2025-03-31) and on their
items (later ones); invoices name their subscription at the top level and under `parent`.
The server is `tests/fakes/http.py`'s (keep-alive, answers without delay). This module imports
nothing of the tests' and nothing of the project's.
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .http import FakeHandler, FakeServer, callback_post

API_VERSION = "2026-10-28.endive"

# Which calls are made on a connected account (the Stripe-Account header), which on the platform.
_CONNECTED = (
    "products",
    "prices",
    "customers",
    "checkout/sessions",
    "billing_portal/sessions",
    "subscriptions",
)
_PLATFORM = ("accounts", "account_links")
_ROUTE = re.compile(
    r"^/v1/(?P<kind>accounts|account_links|products|prices|customers|checkout/sessions"
    r"|billing_portal/sessions|subscriptions)(?:/(?P<id>[A-Za-z0-9_]+))?$"
)
_PREFIX = {
    "accounts": "acct_",
    "products": "prod_",
    "prices": "price_",
    "customers": "cus_",
    "checkout/sessions": "cs_test_",
    "billing_portal/sessions": "bps_",
    "subscriptions": "sub_",
}
_NAMES = {
    "accounts": "account",
    "products": "product",
    "prices": "price",
    "customers": "customer",
    "checkout/sessions": "checkout session",
    "billing_portal/sessions": "billing portal session",
    "subscriptions": "subscription",
}
# The fields each create and update accepts (a subset of Stripe's: what this platform sends).
_FIELDS = {
    ("accounts", "create"): {
        "type", "country", "email", "business_type", "business_profile", "capabilities", "metadata",
        "controller",
    },
    ("account_links", "create"): {"account", "refresh_url", "return_url", "type", "collect"},
    ("products", "create"): {"name", "description", "active", "metadata"},
    ("products", "update"): {"name", "description", "active", "metadata", "default_price"},
    ("prices", "create"): {
        "product", "unit_amount", "currency", "recurring", "nickname", "metadata", "lookup_key", "active",
    },
    ("prices", "update"): {"active", "nickname", "metadata", "lookup_key"},
    ("customers", "create"): {"email", "name", "metadata", "phone", "preferred_locales"},
    ("checkout/sessions", "create"): {
        "mode", "line_items", "success_url", "cancel_url", "customer", "customer_email",
        "client_reference_id", "metadata", "subscription_data", "locale", "allow_promotion_codes",
    },
    ("billing_portal/sessions", "create"): {"customer", "return_url", "locale"},
}  # fmt: skip
_IDEMPOTENCY_REUSED = (
    "Keys for idempotent requests can only be used with the same parameters they were first used with. "
    "Try using a key other than '{key}' if you meant to execute a different request."
)


class StripeFakeError(Exception):
    """An answer of Stripe's error shape (status, type, message, param, code)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        kind: str = "invalid_request_error",
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.kind, self.code = status, message, param, kind, code

    def body(self) -> dict:
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/req_{uuid.uuid4().hex[:14]}"
        return {"error": error}


@dataclass
class Received:
    """One request the fake received: `form` is the decoded body (nested as Stripe reads
    `a[b][0][c]`), `account` the Stripe-Account header, `idempotency_key` its header."""

    method: str
    path: str
    kind: str
    object_id: str
    account: str
    idempotency_key: str
    api_key: str
    stripe_version: str
    raw: str
    form: dict[str, Any]
    status: int = 0
    answer: dict = field(default_factory=dict)
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class SignedEvent:
    """An event as Stripe POSTs it: the exact body and its `Stripe-Signature` header."""

    body: bytes
    signature: str

    def send(self, url: str, *, connect_to: str | None = None, timeout: float = 10.0) -> int:
        """POST it to `url` as Stripe does (`callback_post`: `connect_to` a proxy's "host:port");
        the status answered."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": self.signature,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        return callback_post(url, body=self.body, headers=headers, connect_to=connect_to, timeout=timeout)


def signature_header(body: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """Stripe's `Stripe-Signature` for `body` with the endpoint's `secret` (whsec_...)."""
    text = body.decode() if isinstance(body, bytes) else body
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{text}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def form_decode(raw: str) -> dict[str, Any]:
    """A form body as Stripe reads it: `a[b]=1&a[c][0][d]=2` is {"a": {"b": "1", "c": [{"d": "2"}]}}."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = None if last else parts[index + 1]
            container: Any = value if last else ([] if following is not None and following.isdigit() else {})
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append(None)
                if node[position] is None or last:
                    node[position] = container
                node = node[position]
            else:
                if part not in node or last:
                    node[part] = container
                node = node[part]
    return result


def _add_interval(at: int, interval: str, count: int = 1) -> int:
    """`at` (Unix seconds) plus `count` months or years, on the same day when it exists (Stripe's)."""
    moment = datetime.fromtimestamp(at, UTC)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(18).replace("-", "").replace("_", "")[:24]


class FakeStripe(FakeServer):
    """The fake server (module docstring): one platform (`api_key`, `webhook_secret`), its
    connected accounts and every object made on them (`objects[account][id]`)."""

    def __init__(self, *, api_key: str | None = None, webhook_secret: str | None = None) -> None:
        self.api_key = api_key or f"sk_test_{secrets.token_hex(12)}"
        self.webhook_secret = webhook_secret or f"whsec_{secrets.token_hex(16)}"
        self.requests: list[Received] = []
        self.accounts: dict[str, dict] = {}
        self.objects: dict[str, dict[str, dict]] = {}
        self._idempotent: dict[tuple[str, str], tuple[str, int, dict]] = {}
        self._failures: list[int] = []
        self._lock = threading.RLock()

    def _handler(self) -> type[_Handler]:
        fake = self

        class Handler(_Handler):
            stripe = fake

        return Handler

    # --- what tests ask -----------------------------------------------------------------------

    def fail_next(self, status: int) -> None:
        """The next request is answered `status` with Stripe's error JSON (api_error for 5xx,
        rate_limit_error for 429, invalid_request_error otherwise). Calls add up, in order."""
        with self._lock:
            self._failures.append(status)

    def calls(self, kind: str, method: str | None = None) -> list[Received]:
        """The requests of `kind` ("prices", "checkout/sessions"...) answered 200, in order."""
        return [
            r
            for r in self.requests
            if r.kind == kind and r.status == 200 and (method is None or r.method == method)
        ]

    def object(self, object_id: str, *, account: str | None = None) -> dict:
        """An object the fake holds (a copy), on `account` or on any."""
        with self._lock:
            if object_id in self.accounts:
                return copy.deepcopy(self.accounts[object_id])
            for name, objects in self.objects.items():
                if (account is None or name == account) and object_id in objects:
                    return copy.deepcopy(objects[object_id])
        raise KeyError(object_id)

    def account_add(self, *, onboarded: bool = True, **fields: Any) -> dict:
        """A connected account of the platform, made without an API call (`fields` override)."""
        account = self._account({"type": "express", **fields})
        if onboarded:
            account.update(self._onboarded())
        with self._lock:
            self.accounts[account["id"]] = account
            self.objects.setdefault(account["id"], {})
        return copy.deepcopy(account)

    def account_onboard(self, account_id: str) -> dict:
        """The brand finished onboarding: charges and payouts enabled; the `account.updated` event."""
        with self._lock:
            account = self.accounts[account_id]
            previous = {
                key: copy.deepcopy(account[key])
                for key in ("charges_enabled", "payouts_enabled", "details_submitted", "requirements")
            }
            account.update(self._onboarded())
            return self.event("account.updated", account, account=account_id, previous=previous)

    def checkout_complete(self, session_id: str, *, at: int | None = None) -> list[dict]:
        """The member paid on Stripe's checkout page: the customer (made if the session had none),
        the subscription (trialing with `trial_period_days`, else active), its first invoice, and
        the events Stripe sends: checkout.session.completed, customer.subscription.created,
        invoice.paid (in that order; Stripe itself promises no order)."""
        now = int(time.time()) if at is None else at
        with self._lock:
            account, session = self._find(session_id)
            if session["status"] != "open":
                raise AssertionError(f"{session_id} is {session['status']}")
            objects = self.objects[account]
            customer_id = session["customer"]
            if not customer_id:
                customer = self._customer({"email": session["customer_email"] or ""}, now)
                objects[customer["id"]] = customer
                customer_id = customer["id"]
            price = copy.deepcopy(objects[session["_line_items"][0]["price"]])
            data = session["_subscription_data"]
            trial_days = int(data.get("trial_period_days") or 0)
            subscription_id = _new_id("sub_")
            period_end = (
                now + trial_days * 86400 if trial_days else _add_interval(now, price["recurring"]["interval"])
            )
            fee = data.get("application_fee_percent")
            item = {
                "id": _new_id("si_"),
                "object": "subscription_item",
                "created": now,
                "current_period_start": now,
                "current_period_end": period_end,
                "metadata": {},
                "price": price,
                "quantity": 1,
                "subscription": subscription_id,
            }
            subscription = {
                "id": subscription_id,
                "object": "subscription",
                "application": None,
                "application_fee_percent": float(fee) if fee is not None else None,
                "billing_cycle_anchor": period_end,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "cancellation_details": {"comment": None, "feedback": None, "reason": None},
                "collection_method": "charge_automatically",
                "created": now,
                "currency": price["currency"],
                "current_period_start": now,
                "current_period_end": period_end,
                "customer": customer_id,
                "days_until_due": None,
                "default_payment_method": _new_id("pm_"),
                "ended_at": None,
                "items": {
                    "object": "list",
                    "data": [item],
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/subscription_items?subscription={subscription_id}",
                },
                "latest_invoice": None,
                "livemode": False,
                "metadata": dict(data.get("metadata") or {}),
                "start_date": now,
                "status": "trialing" if trial_days else "active",
                "trial_end": period_end if trial_days else None,
                "trial_start": now if trial_days else None,
            }
            invoice = self._invoice(
                subscription,
                amount=0 if trial_days else price["unit_amount"],
                reason="subscription_create",
                at=now,
            )
            subscription["latest_invoice"] = invoice["id"]
            objects[subscription_id] = subscription
            objects[invoice["id"]] = invoice
            session.update(
                status="complete",
                payment_status="no_payment_required" if trial_days else "paid",
                customer=customer_id,
                subscription=subscription_id,
                invoice=invoice["id"],
            )
            return [
                self.event("checkout.session.completed", _public(session), account=account, at=now),
                self.event("customer.subscription.created", subscription, account=account, at=now),
                self.event("invoice.paid", invoice, account=account, at=now),
            ]

    def subscription_renew(self, subscription_id: str) -> list[dict]:
        """The next period began and was paid: invoice.paid and customer.subscription.updated."""
        with self._lock:
            account, subscription = self._find(subscription_id)
            previous = self._period_of(subscription)
            now = subscription["current_period_end"]
            self._period_next(subscription)
            previous["status"] = subscription["status"]
            subscription["status"] = "active"
            invoice = self._invoice(
                subscription,
                amount=subscription["items"]["data"][0]["price"]["unit_amount"],
                reason="subscription_cycle",
                at=now,
            )
            self.objects[account][invoice["id"]] = invoice
            subscription["latest_invoice"] = invoice["id"]
            return [
                self.event("invoice.paid", invoice, account=account, at=now),
                self.event(
                    "customer.subscription.updated", subscription, account=account, previous=previous, at=now
                ),
            ]

    def invoice_fail(self, subscription_id: str) -> list[dict]:
        """The renewal's payment failed: invoice.payment_failed and the subscription past_due."""
        with self._lock:
            account, subscription = self._find(subscription_id)
            previous = {**self._period_of(subscription), "status": subscription["status"]}
            now = subscription["current_period_end"]
            self._period_next(subscription)
            subscription["status"] = "past_due"
            invoice = self._invoice(
                subscription,
                amount=subscription["items"]["data"][0]["price"]["unit_amount"],
                reason="subscription_cycle",
                at=now,
                paid=False,
            )
            self.objects[account][invoice["id"]] = invoice
            subscription["latest_invoice"] = invoice["id"]
            return [
                self.event("invoice.payment_failed", invoice, account=account, at=now),
                self.event(
                    "customer.subscription.updated", subscription, account=account, previous=previous, at=now
                ),
            ]

    def subscription_cancel(
        self, subscription_id: str, *, at_period_end: bool = True, at: int | None = None
    ) -> dict:
        """Cancelled in the portal: at the period's end (customer.subscription.updated with
        cancel_at_period_end) or now (customer.subscription.deleted, status canceled)."""
        now = int(time.time()) if at is None else at
        with self._lock:
            account, subscription = self._find(subscription_id)
            if at_period_end:
                previous = {"cancel_at_period_end": False, "cancel_at": None, "canceled_at": None}
                subscription.update(
                    cancel_at_period_end=True, cancel_at=subscription["current_period_end"], canceled_at=now
                )
                subscription["cancellation_details"]["reason"] = "cancellation_requested"
                return self.event(
                    "customer.subscription.updated", subscription, account=account, previous=previous, at=now
                )
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            subscription["cancellation_details"]["reason"] = "cancellation_requested"
            return self.event("customer.subscription.deleted", subscription, account=account, at=now)

    def event(
        self,
        type_: str,
        obj: dict,
        *,
        account: str | None,
        previous: dict | None = None,
        at: int | None = None,
    ) -> dict:
        """An event as Stripe sends it, of `obj` as it is now (a copy), for a connected `account`."""
        data: dict[str, Any] = {"object": _public(copy.deepcopy(obj))}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()) if at is None else at,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }
        if account:
            event["account"] = account
        return event

    def signed(
        self, event: dict | bytes | str, *, secret: str | None = None, timestamp: int | None = None
    ) -> SignedEvent:
        """`event` (a dict is encoded as Stripe does, indented) with its signature."""
        body = (
            json.dumps(event, indent=2).encode()
            if isinstance(event, dict)
            else (event.encode() if isinstance(event, str) else event)
        )
        return SignedEvent(
            body=body, signature=signature_header(body, secret or self.webhook_secret, timestamp=timestamp)
        )

    def send_event(
        self, url: str, event: dict, *, connect_to: str | None = None, secret: str | None = None
    ) -> int:
        """`event` signed and POSTed to `url` as Stripe delivers it; the status answered."""
        return self.signed(event, secret=secret).send(url, connect_to=connect_to)

    # --- objects --------------------------------------------------------------------------------

    def _find(self, object_id: str) -> tuple[str, dict]:
        for account, objects in self.objects.items():
            if object_id in objects:
                return account, objects[object_id]
        raise KeyError(object_id)

    @staticmethod
    def _period_of(subscription: dict) -> dict:
        return {
            "current_period_start": subscription["current_period_start"],
            "current_period_end": subscription["current_period_end"],
        }

    @staticmethod
    def _period_next(subscription: dict) -> None:
        item = subscription["items"]["data"][0]
        start = subscription["current_period_end"]
        end = _add_interval(start, item["price"]["recurring"]["interval"])
        subscription.update(current_period_start=start, current_period_end=end, billing_cycle_anchor=start)
        item.update(current_period_start=start, current_period_end=end)

    def _invoice(self, subscription: dict, *, amount: int, reason: str, at: int, paid: bool = True) -> dict:
        fee_percent = subscription["application_fee_percent"]
        fee = round(amount * fee_percent / 100) if fee_percent else None
        invoice_id = _new_id("in_")
        line = {
            "id": _new_id("il_"),
            "object": "line_item",
            "amount": amount,
            "currency": subscription["currency"],
            "period": {
                "start": subscription["current_period_start"],
                "end": subscription["current_period_end"],
            },
            "pricing": {
                "type": "price_details",
                "price_details": {
                    "price": subscription["items"]["data"][0]["price"]["id"],
                    "product": subscription["items"]["data"][0]["price"]["product"],
                },
            },
            "quantity": 1,
        }
        return {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid else amount,
            "application_fee_amount": fee,
            "attempt_count": 1,
            "attempted": True,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": at,
            "currency": subscription["currency"],
            "customer": subscription["customer"],
            "hosted_invoice_url": f"{self.base_url}/i/{invoice_id}",
            "lines": {
                "object": "list",
                "data": [line],
                "has_more": False,
                "total_count": 1,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "next_payment_attempt": None if paid else at + 3 * 86400,
            "number": f"{secrets.token_hex(4).upper()}-0001",
            "paid": paid,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
            },
            "period_start": subscription["current_period_start"],
            "period_end": subscription["current_period_end"],
            "status": "paid" if paid else "open",
            "status_transitions": {"finalized_at": at, "paid_at": at if paid else None},
            "subscription": subscription["id"],
            "subtotal": amount,
            "total": amount,
        }

    def _account(self, form: dict, now: int | None = None) -> dict:
        now = int(time.time()) if now is None else now
        return {
            "id": _new_id("acct_"),
            "object": "account",
            "business_profile": {
                "name": (form.get("business_profile") or {}).get("name"),
                "url": (form.get("business_profile") or {}).get("url"),
            },
            "business_type": form.get("business_type"),
            "capabilities": {name: "inactive" for name in (form.get("capabilities") or {})},
            "charges_enabled": False,
            "country": form.get("country") or "FR",
            "created": now,
            "default_currency": "eur",
            "details_submitted": False,
            "email": form.get("email"),
            "metadata": dict(form.get("metadata") or {}),
            "payouts_enabled": False,
            "requirements": {
                "current_deadline": None,
                "currently_due": ["business_profile.url", "external_account", "tos_acceptance.date"],
                "disabled_reason": "requirements.past_due",
                "errors": [],
                "eventually_due": ["business_profile.url", "external_account", "tos_acceptance.date"],
                "past_due": ["external_account"],
                "pending_verification": [],
            },
            "type": form.get("type") or "express",
        }

    @staticmethod
    def _onboarded() -> dict:
        requirements = {
            "current_deadline": None,
            "currently_due": [],
            "disabled_reason": None,
            "errors": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": [],
        }
        return {
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "requirements": requirements,
        }

    @staticmethod
    def _customer(form: dict, now: int) -> dict:
        return {
            "id": _new_id("cus_"),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": now,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "email": form.get("email") or None,
            "invoice_prefix": secrets.token_hex(4).upper(),
            "livemode": False,
            "metadata": dict(form.get("metadata") or {}),
            "name": form.get("name") or None,
            "phone": form.get("phone") or None,
            "preferred_locales": list(form.get("preferred_locales") or []),
            "tax_exempt": "none",
        }

    # --- the API, for the handler ---------------------------------------------------------------

    def _answer(self, received: Received) -> tuple[int, dict, bool]:
        """Status, body and whether it is an idempotent replay, for `received` (recorded first)."""
        with self._lock:
            self.requests.append(received)
            try:
                if self._failures:
                    status = self._failures.pop(0)
                    kind = (
                        "api_error"
                        if status >= 500
                        else "rate_limit_error"
                        if status == 429
                        else "invalid_request_error"
                    )
                    raise StripeFakeError(
                        status, "An error occurred with our connection to Stripe.", kind=kind
                    )
                self._authorise(received)
                if received.method == "POST":
                    if not received.idempotency_key:
                        raise StripeFakeError(
                            400, "fake Stripe: every POST of this platform carries an Idempotency-Key"
                        )
                    key = (received.account, received.idempotency_key)
                    if key in self._idempotent:
                        raw, status, body = self._idempotent[key]
                        if raw != received.raw or received.path != body.get("_path", received.path):
                            raise StripeFakeError(
                                400,
                                _IDEMPOTENCY_REUSED.format(key=received.idempotency_key),
                                kind="idempotency_error",
                            )
                        return status, _public(body), True
                status, body = 200, self._route(received)
                if received.method == "POST":
                    self._idempotent[(received.account, received.idempotency_key)] = (
                        received.raw,
                        status,
                        {**body, "_path": received.path},
                    )
                return status, _public(body), False
            except StripeFakeError as error:
                return error.status, error.body(), False

    def _authorise(self, received: Received) -> None:
        if not received.api_key or not secrets.compare_digest(received.api_key, self.api_key):
            shown = received.api_key[:8] + "*" * max(0, len(received.api_key) - 12) + received.api_key[-4:]
            raise StripeFakeError(401, f"Invalid API Key provided: {shown}")
        if not received.kind:
            raise StripeFakeError(404, f"Unrecognized request URL ({received.method}: {received.path}).")
        if received.kind in _CONNECTED:
            if not received.account:
                raise StripeFakeError(
                    400,
                    f"fake Stripe: {received.kind} are made on the brand's connected account: "
                    "the Stripe-Account header is missing",
                )
            if received.account not in self.accounts:
                raise StripeFakeError(
                    403,
                    f"The provided key '{received.api_key[:8]}...' does not have access to account "
                    f"'{received.account}' (or that account does not exist). Application access may have "
                    "been revoked.",
                    kind="invalid_request_error",
                    code="account_invalid",
                )
        elif received.account and received.kind in _PLATFORM and not received.object_id:
            raise StripeFakeError(
                400,
                f"fake Stripe: {received.kind} are created on the platform, not with a Stripe-Account header",
            )

    def _route(self, received: Received) -> dict:
        kind, object_id, form, now = received.kind, received.object_id, received.form, int(time.time())
        if received.method == "GET":
            if not object_id:
                raise StripeFakeError(404, f"Unrecognized request URL (GET: {received.path}).")
            return self._get(kind, object_id, received.account)
        action = "update" if object_id else "create"
        allowed = _FIELDS.get((kind, action))
        if allowed is None:
            raise StripeFakeError(404, f"Unrecognized request URL (POST: {received.path}).")
        for name in form:
            if name not in allowed and name not in ("expand",):
                raise StripeFakeError(
                    400, f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
                )
        if kind == "accounts":
            if object_id:
                raise StripeFakeError(400, "fake Stripe: this platform never updates a connected account")
            account = self._account(form, now)
            self.accounts[account["id"]] = account
            self.objects[account["id"]] = {}
            return account
        if kind == "account_links":
            return self._account_link(form, now)
        objects = self.objects[received.account]
        if object_id:
            target = self._get(kind, object_id, received.account, raw=True)
            for name, value in form.items():
                target[name] = _typed(name, value)
            if "updated" in target:
                target["updated"] = now
            return target
        builder = {
            "products": self._product,
            "prices": self._price,
            "customers": lambda form, now, _objects: self._customer(form, now),
            "checkout/sessions": self._checkout_session,
            "billing_portal/sessions": self._portal_session,
        }[kind]
        made = builder(form, now, objects)
        objects[made["id"]] = made
        return made

    def _get(self, kind: str, object_id: str, account: str, *, raw: bool = False) -> dict:
        source = self.accounts if kind == "accounts" else self.objects.get(account, {})
        found = source.get(object_id)
        if found is None or not object_id.startswith(_PREFIX[kind]):
            raise StripeFakeError(
                404, f"No such {_NAMES[kind]}: '{object_id}'", param="id", code="resource_missing"
            )
        return found if raw else copy.deepcopy(found)

    def _account_link(self, form: dict, now: int) -> dict:
        for name in ("account", "type", "refresh_url", "return_url"):
            if not form.get(name):
                raise StripeFakeError(
                    400, f"Missing required param: {name}.", param=name, code="parameter_missing"
                )
        if form["account"] not in self.accounts:
            raise StripeFakeError(
                400, f"No such account: '{form['account']}'", param="account", code="resource_missing"
            )
        if form["type"] not in ("account_onboarding", "account_update"):
            raise StripeFakeError(
                400, "Invalid type: must be one of account_onboarding or account_update", param="type"
            )
        for name in ("refresh_url", "return_url"):
            if urlsplit(form[name]).scheme not in ("http", "https"):
                raise StripeFakeError(400, "Not a valid URL", param=name, code="url_invalid")
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"{self.base_url}/setup/e/{form['account']}/{secrets.token_urlsafe(12)}",
        }

    def _product(self, form: dict, now: int, objects: dict) -> dict:
        if not form.get("name"):
            raise StripeFakeError(
                400, "Missing required param: name.", param="name", code="parameter_missing"
            )
        return {
            "id": _new_id("prod_"),
            "object": "product",
            "active": _typed("active", form.get("active", "true")),
            "created": now,
            "default_price": None,
            "description": form.get("description") or None,
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": dict(form.get("metadata") or {}),
            "name": form["name"],
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "type": "service",
            "unit_label": None,
            "updated": now,
            "url": None,
        }

    def _price(self, form: dict, now: int, objects: dict) -> dict:
        for name in ("currency", "product", "unit_amount"):
            if not form.get(name):
                raise StripeFakeError(
                    400, f"Missing required param: {name}.", param=name, code="parameter_missing"
                )
        if form["product"] not in objects or not form["product"].startswith("prod_"):
            raise StripeFakeError(
                400, f"No such product: '{form['product']}'", param="product", code="resource_missing"
            )
        currency = form["currency"].lower()
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise StripeFakeError(400, f"Invalid currency: {form['currency']}.", param="currency")
        if not form["unit_amount"].isdigit() or int(form["unit_amount"]) < 1:
            raise StripeFakeError(
                400,
                "Invalid integer: unit_amount must be a positive integer in the currency's smallest unit",
                param="unit_amount",
            )
        recurring = form.get("recurring")
        if recurring is not None:
            if recurring.get("interval") not in ("day", "week", "month", "year"):
                raise StripeFakeError(
                    400,
                    "Invalid recurring[interval]: must be one of day, week, month, or year",
                    param="recurring[interval]",
                )
        return {
            "id": _new_id("price_"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": now,
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": form.get("lookup_key"),
            "metadata": dict(form.get("metadata") or {}),
            "nickname": form.get("nickname"),
            "product": form["product"],
            "recurring": None if recurring is None else {
                "interval": recurring["interval"],
                "interval_count": int(recurring.get("interval_count") or 1),
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            },
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if recurring is not None else "one_time",
            "unit_amount": int(form["unit_amount"]),
            "unit_amount_decimal": form["unit_amount"],
        }  # fmt: skip

    def _checkout_session(self, form: dict, now: int, objects: dict) -> dict:
        mode = form.get("mode")
        if mode not in ("payment", "setup", "subscription"):
            raise StripeFakeError(
                400, "Missing required param: mode." if not mode else f"Invalid mode: {mode}", param="mode"
            )
        if not form.get("success_url"):
            raise StripeFakeError(
                400, "Missing required param: success_url.", param="success_url", code="parameter_missing"
            )
        for name in ("success_url", "cancel_url"):
            if form.get(name) and urlsplit(form[name]).scheme not in ("http", "https"):
                raise StripeFakeError(400, "Not a valid URL", param=name, code="url_invalid")
        items = form.get("line_items")
        if not isinstance(items, list) or not items:
            raise StripeFakeError(
                400, "Missing required param: line_items.", param="line_items", code="parameter_missing"
            )
        for index, item in enumerate(items):
            price = objects.get(item.get("price") or "")
            if price is None or price["object"] != "price":
                raise StripeFakeError(
                    400,
                    f"No such price: '{item.get('price')}'",
                    param=f"line_items[{index}][price]",
                    code="resource_missing",
                )
            if not price["active"]:
                raise StripeFakeError(
                    400,
                    "The price specified is inactive. This field only accepts active prices.",
                    param=f"line_items[{index}][price]",
                )
            if mode == "subscription" and price["type"] != "recurring":
                raise StripeFakeError(
                    400,
                    "You must provide at least one recurring price in `subscription` mode when using prices.",
                    param=f"line_items[{index}][price]",
                )
            if not str(item.get("quantity", "")).isdigit() or int(item["quantity"]) < 1:
                raise StripeFakeError(
                    400, "Invalid integer: quantity", param=f"line_items[{index}][quantity]"
                )
        customer = form.get("customer")
        if customer and customer not in objects:
            raise StripeFakeError(
                400, f"No such customer: '{customer}'", param="customer", code="resource_missing"
            )
        data = form.get("subscription_data") or {}
        if data and mode != "subscription":
            raise StripeFakeError(
                400,
                "You can only pass in subscription_data in `subscription` mode.",
                param="subscription_data",
            )
        for name in data:
            if name not in ("application_fee_percent", "trial_period_days", "metadata", "description"):
                raise StripeFakeError(
                    400,
                    f"Received unknown parameter: subscription_data[{name}]",
                    param=f"subscription_data[{name}]",
                    code="parameter_unknown",
                )
        if "application_fee_percent" in data:
            try:
                fee = float(data["application_fee_percent"])
            except ValueError:
                fee = -1.0
            if not 0 <= fee <= 100 or not re.fullmatch(r"\d+(\.\d{1,2})?", data["application_fee_percent"]):
                raise StripeFakeError(
                    400,
                    "Invalid decimal: application_fee_percent must be between 0 and 100 "
                    "with at most two decimals",
                    param="subscription_data[application_fee_percent]",
                )
        if "trial_period_days" in data and (
            not data["trial_period_days"].isdigit() or not 1 <= int(data["trial_period_days"]) <= 730
        ):
            raise StripeFakeError(
                400,
                "Invalid integer: trial_period_days must be at least 1 and at most 730",
                param="subscription_data[trial_period_days]",
            )
        session_id = _new_id("cs_test_")
        price = objects[items[0]["price"]]
        return {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": price["unit_amount"],
            "amount_total": price["unit_amount"],
            "cancel_url": form.get("cancel_url"),
            "client_reference_id": form.get("client_reference_id"),
            "created": now,
            "currency": price["currency"],
            "customer": customer,
            "customer_email": form.get("customer_email"),
            "expires_at": now + 86400,
            "invoice": None,
            "livemode": False,
            "locale": form.get("locale"),
            "metadata": dict(form.get("metadata") or {}),
            "mode": mode,
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": form["success_url"],
            "ui_mode": "hosted",
            "url": f"{self.base_url}/c/pay/{session_id}",
            "_line_items": [{"price": item["price"], "quantity": int(item["quantity"])} for item in items],
            "_subscription_data": data,
        }

    def _portal_session(self, form: dict, now: int, objects: dict) -> dict:
        customer = form.get("customer")
        if not customer:
            raise StripeFakeError(
                400, "Missing required param: customer.", param="customer", code="parameter_missing"
            )
        if customer not in objects:
            raise StripeFakeError(
                400, f"No such customer: '{customer}'", param="customer", code="resource_missing"
            )
        if form.get("return_url") and urlsplit(form["return_url"]).scheme not in ("http", "https"):
            raise StripeFakeError(400, "Not a valid URL", param="return_url", code="url_invalid")
        session_id = _new_id("bps_")
        return {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_" + secrets.token_hex(12),
            "created": now,
            "customer": customer,
            "flow": None,
            "livemode": False,
            "locale": form.get("locale"),
            "on_behalf_of": None,
            "return_url": form.get("return_url"),
            "url": f"{self.base_url}/p/session/{session_id}",
        }


def _typed(name: str, value: Any) -> Any:
    """A form value as the object holds it (booleans are "true"/"false" on the wire)."""
    if name == "active" and isinstance(value, str):
        if value not in ("true", "false"):
            raise StripeFakeError(400, f"Invalid boolean: {value}", param=name)
        return value == "true"
    return value


def _public(obj: dict) -> dict:
    """An object without the fake's own bookkeeping keys (`_...`)."""
    return {key: value for key, value in obj.items() if not key.startswith("_")}


class _Handler(FakeHandler):
    stripe: FakeStripe

    def do_GET(self) -> None:
        self._handle("GET", urlsplit(self.path).query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._handle("POST", self.rfile.read(length).decode())

    def _handle(self, method: str, raw: str) -> None:
        path = urlsplit(self.path).path
        match = _ROUTE.match(path)
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        try:
            form = form_decode(raw)
        except (ValueError, IndexError):
            form = {"": raw}
        received = Received(
            method=method,
            path=path,
            kind=match["kind"] if match else "",
            object_id=(match["id"] or "") if match else "",
            account=self.headers.get("Stripe-Account") or "",
            idempotency_key=self.headers.get("Idempotency-Key") or "",
            api_key=token if scheme == "Bearer" else "",
            stripe_version=self.headers.get("Stripe-Version") or "",
            raw=raw,
            form=form,
        )
        status, payload, replayed = self.stripe._answer(received)
        received.status, received.answer = status, payload
        headers = {
            "Content-Type": "application/json",
            "Request-Id": f"req_{uuid.uuid4().hex[:14]}",
            "Stripe-Version": received.stripe_version or API_VERSION,
        }
        if received.idempotency_key:
            headers["Idempotency-Key"] = received.idempotency_key
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        if received.account:
            headers["Stripe-Account"] = received.account
        self.answer(status, json.dumps(payload, indent=2).encode(), headers)
