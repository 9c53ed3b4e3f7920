"""The local sandbox of Stripe (README.md, "VIP and billing"), used when the platform has no Stripe
key: what a member does on Stripe's pages (pay at checkout, cancel in the portal) and what time does
to a subscription (renewed, a payment failed), as the backoffice's sandbox controls trigger it.

Each step builds the events Stripe would send, shaped like Stripe's (`object: "event"`, the
connected `account`, `data.object`, `previous_attributes`), and gives them to the webhook's own
`billing.services.events.stripe_event_store`; they are then handled at once, in order (the queued
task finds them handled), so the member's page shows the result when it is back. The subscription's
state is the one its latest event carries (`SandboxGateway.subscription_retrieve`)."""

from __future__ import annotations

import calendar
import copy
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction

from billing.gateway import SANDBOX_SESSION_SECONDS, SandboxGateway, sandbox_on, sandbox_session_key
from billing.models import Customer, Subscription, VipPlan
from billing.services.events import stripe_event_handle, stripe_event_store
from billing.services.plans import amount_to_minor
from core.errors import Conflict, NotFound
from loyalty.models import Member
from tenants.models import StripeAccount
from tenants.selectors import schema_current

API_VERSION = "2026-10-28.endive"  # the one the `stripe` library here is pinned to


def _sandbox_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def period_add(at: int, interval: str) -> int:
    """`at` (Unix seconds) one month or year later, on the same day when it exists (Stripe's)."""
    moment = datetime.fromtimestamp(at, UTC)
    year, month = divmod(moment.month - 1 + (12 if interval == "year" else 1), 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def _event(kind: str, obj: dict, *, account: str, previous: dict | None = None) -> dict:
    data: dict[str, Any] = {"object": copy.deepcopy(obj)}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": _sandbox_id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "account": account,
        "created": int(time.time()),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def _deliver(events: list[dict]) -> None:
    """Store the events as the webhook does, then handle them now, in order."""
    with transaction.atomic():
        stored = [stripe_event_store(payload=event)[0] for event in events]
    for event in stored:
        stripe_event_handle(event_id=event.pk)


def _account() -> StripeAccount:
    """The brand's sandbox account; NotFound when it has none or the platform has Stripe keys."""
    account = StripeAccount.objects.filter(brand__schema_name=schema_current(), sandbox=True).first()
    if not sandbox_on():
        raise NotFound("the sandbox is off: this platform uses Stripe", field="account")
    if account is None:
        raise NotFound("the brand has no sandbox Stripe account", field="account")
    return account


def _invoice(subscription: dict, *, paid: bool, reason: str) -> dict:
    price = subscription["items"]["data"][0]["price"]
    amount = 0 if subscription["status"] == "trialing" else price["unit_amount"]
    fee_percent = subscription.get("application_fee_percent")
    invoice_id = _sandbox_id("in_")
    now = int(time.time())
    return {
        "id": invoice_id,
        "object": "invoice",
        "amount_due": amount,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "application_fee_amount": round(amount * fee_percent / 100) if fee_percent else None,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": price["currency"],
        "customer": subscription["customer"],
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": _sandbox_id("il_"),
                    "object": "line_item",
                    "amount": amount,
                    "currency": price["currency"],
                    "period": {
                        "start": subscription["current_period_start"],
                        "end": subscription["current_period_end"],
                    },
                    "quantity": 1,
                }
            ],
            "has_more": False,
        },
        "livemode": False,
        "paid": paid,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "metadata": subscription["metadata"],
                "subscription": subscription["id"],
            },
        },
        "period_start": subscription["current_period_start"],
        "period_end": subscription["current_period_end"],
        "status": "paid" if paid else "open",
        "status_transitions": {"finalized_at": now, "paid_at": now if paid else None},
        "subscription": subscription["id"],
        "total": amount,
    }


def sandbox_session(*, session_id: str, member: Member | None = None) -> dict:
    """A sandbox checkout or portal session of this brand (of `member`, when given), or NotFound."""
    session = cache.get(sandbox_session_key(session_id)) if session_id.startswith(("cs_", "bps_")) else None
    if session is None:
        raise NotFound("no such sandbox session (they last 24 hours)", field="session")
    if session["object"] == "checkout.session":
        if session["metadata"].get("brand") != schema_current():
            raise NotFound("no such sandbox session", field="session")
        if member is not None and session["client_reference_id"] != str(member.pk):
            raise NotFound("no such sandbox session", field="session")
    elif (
        member is not None
        and not Customer.objects.filter(member=member, stripe_customer_id=session["customer"]).exists()
    ):
        raise NotFound("no such sandbox session", field="session")
    return session


def sandbox_checkout_plan(*, session: dict) -> VipPlan | None:
    return VipPlan.objects.filter(stripe_price_id=session["sandbox"]["price"]).first()


def sandbox_checkout_pay(*, session_id: str, member: Member) -> str:
    """The member paid on the sandbox's checkout page: the subscription (trialing with a trial,
    else active) and its first invoice, delivered as checkout.session.completed,
    customer.subscription.created and invoice.paid. The address of the session's success page."""
    account = _account()
    session = sandbox_session(session_id=session_id, member=member)
    # Once, even when the page is sent twice at once (the second finds it paid, or being paid).
    if session["status"] != "open" or not cache.add(f"{sandbox_session_key(session_id)}:paying", 1, 60):
        raise Conflict("this checkout session is already paid", code="session_complete")
    plan = sandbox_checkout_plan(session=session)
    if plan is None or account.account_id != session["sandbox"]["account"]:
        raise NotFound("the plan of this session is no longer sold", field="session")
    data = session["sandbox"]["subscription_data"]
    now = int(time.time())
    trial_days = int(data.get("trial_period_days") or 0)
    end = now + trial_days * 86400 if trial_days else period_add(now, plan.interval)
    subscription_id = _sandbox_id("sub_")
    price = {
        "id": plan.stripe_price_id,
        "object": "price",
        "active": True,
        "currency": plan.currency.lower(),
        "product": plan.stripe_product_id,
        "recurring": {"interval": plan.interval, "interval_count": 1, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": amount_to_minor(amount=plan.price, currency=plan.currency),
    }
    fee = data.get("application_fee_percent")
    subscription = {
        "id": subscription_id,
        "object": "subscription",
        "application_fee_percent": float(fee) if fee else None,
        "billing_cycle_anchor": end,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": price["currency"],
        "current_period_start": now,
        "current_period_end": end,
        "customer": session["customer"],
        "ended_at": None,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": _sandbox_id("si_"),
                    "object": "subscription_item",
                    "current_period_start": now,
                    "current_period_end": end,
                    "price": price,
                    "quantity": 1,
                    "subscription": subscription_id,
                }
            ],
            "has_more": False,
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(data.get("metadata") or {}),
        "start_date": now,
        "status": "trialing" if trial_days else "active",
        "trial_start": now if trial_days else None,
        "trial_end": end if trial_days else None,
    }
    invoice = _invoice(subscription, paid=True, reason="subscription_create")
    subscription["latest_invoice"] = invoice["id"]
    session = {**session, "status": "complete", "payment_status": "paid", "subscription": subscription_id}
    cache.set(sandbox_session_key(session_id), session, SANDBOX_SESSION_SECONDS)
    public = {key: value for key, value in session.items() if key != "sandbox"}
    _deliver(
        [
            _event("checkout.session.completed", public, account=account.account_id),
            _event("customer.subscription.created", subscription, account=account.account_id),
            _event("invoice.paid", invoice, account=account.account_id),
        ]
    )
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)


def _current(subscription: Subscription) -> tuple[StripeAccount, dict]:
    """The subscription's account and Stripe object, its row locked until the caller's transaction
    ends: two clicks on "Renew" renew two periods, one after the other."""
    account = _account()
    Subscription.objects.select_for_update().filter(pk=subscription.pk).first()
    if not subscription.sandbox:
        raise Conflict("only the sandbox's subscriptions have sandbox controls", code="not_sandbox")
    obj = SandboxGateway().subscription_retrieve(
        account_id=account.account_id, subscription_id=subscription.stripe_subscription_id
    )
    if obj["status"] in ("canceled", "incomplete_expired"):
        raise Conflict("this subscription has ended", code="subscription_ended")
    return account, copy.deepcopy(obj)


def _period_next(obj: dict) -> dict:
    previous = {
        "current_period_start": obj["current_period_start"],
        "current_period_end": obj["current_period_end"],
    }
    item = obj["items"]["data"][0]
    start = obj["current_period_end"]
    end = period_add(start, item["price"]["recurring"]["interval"])
    obj.update(current_period_start=start, current_period_end=end, billing_cycle_anchor=start)
    item.update(current_period_start=start, current_period_end=end)
    return previous


@transaction.atomic
def sandbox_subscription_renew(*, subscription: Subscription) -> None:
    """The next period began and was paid: invoice.paid, customer.subscription.updated (active).
    A subscription cancelled at its period's end ends instead (customer.subscription.deleted)."""
    account, obj = _current(subscription)
    if obj["cancel_at_period_end"]:
        obj.update(status="canceled", ended_at=obj["current_period_end"])
        _deliver([_event("customer.subscription.deleted", obj, account=account.account_id)])
        return
    previous = {**_period_next(obj), "status": obj["status"]}
    obj["status"] = "active"
    invoice = _invoice(obj, paid=True, reason="subscription_cycle")
    obj["latest_invoice"] = invoice["id"]
    _deliver(
        [
            _event("invoice.paid", invoice, account=account.account_id),
            _event("customer.subscription.updated", obj, account=account.account_id, previous=previous),
        ]
    )


@transaction.atomic
def sandbox_payment_fail(*, subscription: Subscription) -> None:
    """The renewal's payment failed: invoice.payment_failed, the subscription past_due (Stripe
    retries; the member is told, with the link to the portal)."""
    account, obj = _current(subscription)
    previous = {**_period_next(obj), "status": obj["status"]}
    obj["status"] = "past_due"
    if obj["status"] == previous["status"]:
        previous.pop("status")
    invoice = _invoice({**obj, "status": "active"}, paid=False, reason="subscription_cycle")
    obj["latest_invoice"] = invoice["id"]
    _deliver(
        [
            _event("invoice.payment_failed", invoice, account=account.account_id),
            _event("customer.subscription.updated", obj, account=account.account_id, previous=previous),
        ]
    )


@transaction.atomic
def sandbox_subscription_cancel(*, subscription: Subscription, at_period_end: bool) -> None:
    """Cancelled as in the portal: at the period's end (customer.subscription.updated,
    cancel_at_period_end) or now (customer.subscription.deleted, status canceled)."""
    account, obj = _current(subscription)
    now = int(time.time())
    if at_period_end:
        if obj["cancel_at_period_end"]:
            raise Conflict("this subscription already ends with its period", code="already_cancelled")
        previous = {"cancel_at_period_end": False, "cancel_at": None, "canceled_at": None}
        obj.update(cancel_at_period_end=True, cancel_at=obj["current_period_end"], canceled_at=now)
        _deliver(
            [_event("customer.subscription.updated", obj, account=account.account_id, previous=previous)]
        )
        return
    obj.update(status="canceled", canceled_at=now, ended_at=now)
    _deliver([_event("customer.subscription.deleted", obj, account=account.account_id)])
