"""What Stripe's events say, applied in the brand's schema (README.md, "VIP and billing"): the
member's customer (`checkout.session.completed`), the subscription (`customer.subscription.*`), its
invoices (`invoice.paid`, `invoice.payment_failed`) and the brand's connected account
(`account.updated`). Called by `billing.services.events.stripe_event_handle`, in its transaction.

Each is idempotent (the same event twice changes nothing the second time) and order-proof: a
subscription row keeps the time of the Stripe state it reflects (`state_at`, the event's `created`)
and an older state never overwrites it; a cancelled and ended subscription is final, as in Stripe.
An event about something not applied yet (an invoice before its subscription: Stripe does not
promise their order) raises `NotYetKnown` and is handled again later; one about no member of the
brand, or a subscription to none of its VIP plans not made by its checkout (another product sold
on the brand's Stripe account), raises `NotOurs` and is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.gateway import gateway_for
from billing.models import Customer, Payment, Subscription, SubscriptionChange, VipPlan
from billing.selectors_vip import subscriptions_live
from billing.services.vip import member_vip_refresh
from core.errors import Conflict
from loyalty.models import Member
from messaging.selectors.variables import site_url
from messaging.triggers import trigger_fire
from tenants.models import StripeAccount, StripeEvent
from tenants.selectors import schema_current

logger = logging.getLogger(__name__)

# Currencies Stripe counts in whole units (its "zero-decimal currencies"); the others in cents.
ZERO_DECIMAL_CURRENCIES = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
# Currencies Stripe counts in thousandths, their last digit always 0 (so a price of theirs has at
# most 2 decimals, as our amounts).
THREE_DECIMAL_CURRENCIES = frozenset("BHD JOD KWD OMR TND".split())
# Statuses whose subscription has ended for good: nothing Stripe sends later revives it.
ENDED_STATUSES = frozenset({Subscription.Status.CANCELED, Subscription.Status.INCOMPLETE_EXPIRED})


class NotOurs(Exception):
    """The object is none of this brand's VIP subscriptions (another product sold on the brand's
    Stripe account, or another brand's object): the event is ignored, with the reason."""


class NotYetKnown(Exception):
    """The event names a customer or subscription this brand has not linked yet: handled again
    later (the beat's retry, or at once when the checkout session linking it is handled)."""


def minor_exponent(currency: str) -> int:
    """How many decimals Stripe's integer amounts of `currency` have (0 for JPY, 3 for KWD)."""
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL_CURRENCIES else 3 if code in THREE_DECIMAL_CURRENCIES else 2


def amount_from_minor(*, amount: int | str, currency: str) -> Decimal:
    """Stripe's integer amount in the currency's smallest unit, as a Decimal of the currency."""
    value = Decimal(amount)
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return value
    return value.scaleb(-minor_exponent(currency)).quantize(Decimal("0.01"))


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) and value > 0 else None


def _id(value: Any) -> str:
    """An object's id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _object(event: StripeEvent) -> dict:
    return event.payload["data"]["object"]


# --- which member ---------------------------------------------------------------------------------


def _member_of_reference(*, obj: dict) -> Member | None:
    """The member a checkout session (or the subscription it made) names: our member id in
    `client_reference_id` or `metadata.member_id`, trusted only with `metadata.brand` naming this
    brand's schema, so an object of another brand (or an event whose `account` was forged) never
    reaches a member of this one whose id happens to be the same."""
    metadata = obj.get("metadata") or {}
    if metadata.get("brand") != schema_current():
        return None
    reference = obj.get("client_reference_id") or metadata.get("member_id")
    if not isinstance(reference, str | int) or not str(reference).isdigit():
        return None
    return Member.objects.filter(pk=int(reference)).first()


def _customer_link(*, member: Member, customer_id: str) -> None:
    """`customer_id` is `member`'s customer on the brand's account (its latest one)."""
    other = Customer.objects.filter(stripe_customer_id=customer_id).exclude(member=member).first()
    if other is not None:
        raise Conflict(f"the customer {customer_id} is another member's ({other.member_id})")
    Customer.objects.update_or_create(member=member, defaults={"stripe_customer_id": customer_id})


def _member_of_customer(*, customer_id: str, obj: dict) -> Member:
    """The member whose customer `customer_id` is, linked now if `obj` names them; NotOurs when
    neither says (another product of the brand's Stripe account, or another brand's object)."""
    customer = Customer.objects.select_related("member").filter(stripe_customer_id=customer_id).first()
    if customer is not None:
        return customer.member
    member = _member_of_reference(obj=obj)
    if member is None or not customer_id:
        raise NotOurs(f"no member of this brand has the customer {customer_id or '(none)'}")
    _customer_link(member=member, customer_id=customer_id)
    return member


# --- checkout.session.completed ------------------------------------------------------------------


def checkout_session_apply(event: StripeEvent) -> None:
    """Link the session's customer to the member it was opened for; the events about that customer
    waiting for it are queued again at once."""
    session = _object(event)
    customer_id = _id(session.get("customer"))
    member = _member_of_reference(obj=session)
    if session.get("mode") != "subscription" or not customer_id or member is None:
        raise NotOurs(f"the checkout session {session.get('id')} is no VIP subscription of this brand's")
    _customer_link(member=member, customer_id=customer_id)
    _waiting_requeue(event=event, customer_id=customer_id)


def _waiting_requeue(*, event: StripeEvent, customer_id: str) -> None:
    from billing.services.events import stripe_events_requeue  # the events module imports this one

    stripe_events_requeue(event=event, customer_id=customer_id)


# --- customer.subscription.* ----------------------------------------------------------------------


def _price_of(obj: dict) -> tuple[dict, int, dict]:
    """The subscription's first item: (its price, its quantity, the item)."""
    items = (obj.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    return item.get("price") or obj.get("plan") or {}, int(item.get("quantity") or 1), item


def _fields_of(obj: dict) -> dict[str, Any]:
    """The Subscription fields a Stripe subscription object says (its period on the object or, in
    recent API versions, on its item)."""
    price, quantity, item = _price_of(obj)
    currency = str(price.get("currency") or "eur").upper()
    unit_amount = price.get("unit_amount") or price.get("amount") or 0
    interval = (price.get("recurring") or {}).get("interval") or price.get("interval") or "month"
    return {
        "status": obj["status"],
        "stripe_customer_id": _id(obj.get("customer")),
        "stripe_price_id": _id(price) or "",
        "amount": amount_from_minor(amount=unit_amount, currency=currency) * quantity,
        "currency": currency,
        "interval": interval if interval in VipPlan.Interval.values else VipPlan.Interval.MONTH,
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "current_period_start": _time(obj.get("current_period_start") or item.get("current_period_start")),
        "current_period_end": _time(obj.get("current_period_end") or item.get("current_period_end")),
        "trial_end": _time(obj.get("trial_end")),
        "canceled_at": _time(obj.get("canceled_at")),
        "ended_at": _time(obj.get("ended_at")),
    }


def _plan_of(obj: dict) -> VipPlan | None:
    """The VIP plan of a subscription: by its price, or by the plan's product (an older price of
    the plan, archived since)."""
    price = _price_of(obj)[0]
    price_id, product_id = _id(price), _id(price.get("product"))
    if not price_id and not product_id:
        return None
    match = Q(stripe_price_id=price_id) if price_id else Q()
    if product_id:
        match |= Q(stripe_product_id=product_id)
    return VipPlan.objects.filter(match).order_by("-is_active", "pk").first()


CHANGE_FIELDS = ("status", "amount", "currency", "interval", "cancel_at_period_end")


def _checked_fields(obj: dict) -> dict[str, Any]:
    fields = _fields_of(obj)
    if fields["status"] not in Subscription.Status.values:
        raise ValueError(f"unknown subscription status {fields['status']!r}")
    return fields


def subscription_apply(
    *,
    obj: dict,
    at: datetime,
    event_id: str = "",
    sandbox: bool = False,
    current: Callable[[], dict] | None = None,
) -> Subscription | None:
    """Apply the Stripe subscription object `obj`, as it was at `at`, to its row (created the first
    time), unless the row already reflects a later state or the subscription has ended; a change of
    status, amount or cancellation is a `SubscriptionChange`; then the member's VIP is recomputed.
    Two different states of the same second (Stripe's times are in seconds) are told apart by
    Stripe's current object, `current()`. The row, or None when nothing was applied."""
    fields = _checked_fields(obj)
    member = _member_of_customer(customer_id=fields["stripe_customer_id"], obj=obj)
    plan = _plan_of(obj)
    rows = Subscription.objects.select_for_update()
    subscription = rows.filter(stripe_subscription_id=obj["id"]).first()
    created = False
    if subscription is None and plan is None and (obj.get("metadata") or {}).get("brand") != schema_current():
        # The member's customer subscribed to something else the brand sells on its account.
        raise NotOurs(f"the subscription {obj['id']} is to none of this brand's VIP plans")
    if subscription is None:
        try:
            with transaction.atomic():
                subscription = Subscription.objects.create(
                    stripe_subscription_id=obj["id"],
                    member=member,
                    plan=plan,
                    state_at=at,
                    sandbox=sandbox,
                    **fields,
                )
                created = True
        except IntegrityError:  # created meanwhile by another event of the same subscription
            subscription = rows.get(stripe_subscription_id=obj["id"])
    if subscription.member_id != member.pk:
        raise Conflict(f"the subscription {obj['id']} is another member's ({subscription.member_id})")
    before = {name: getattr(subscription, name) for name in CHANGE_FIELDS}
    if not created:
        tie = at == subscription.state_at and any(
            getattr(subscription, name) != value for name, value in fields.items()
        )
        if tie and current is not None:
            fields = _checked_fields(current())
        if at < subscription.state_at or (
            subscription.status in ENDED_STATUSES and fields["status"] not in ENDED_STATUSES
        ):
            return None
        for name, value in fields.items():
            setattr(subscription, name, value)
        subscription.plan = plan or subscription.plan
        subscription.state_at = at
        subscription.save()
    if created or any(getattr(subscription, name) != value for name, value in before.items()):
        SubscriptionChange.objects.create(
            subscription=subscription,
            at=at,
            status_before="" if created else before["status"],
            status=subscription.status,
            amount=subscription.amount,
            currency=subscription.currency,
            interval=subscription.interval,
            cancel_at_period_end=subscription.cancel_at_period_end,
            stripe_event_id=event_id,
        )
    member_vip_refresh(member=member)
    return subscription


def _sandbox(event: StripeEvent) -> bool:
    return StripeAccount.objects.filter(brand=event.brand, sandbox=True).exists()


def subscription_event_apply(event: StripeEvent) -> None:
    """Apply the event's subscription; the invoices that waited for it are queued again."""
    obj = _object(event)

    def current() -> dict:
        assert event.brand is not None  # a handled event has its brand
        return gateway_for(event.brand).subscription_retrieve(
            account_id=event.account_id, subscription_id=obj["id"]
        )

    subscription_apply(
        obj=obj, at=event.created, event_id=event.event_id, sandbox=_sandbox(event), current=current
    )
    _waiting_requeue(event=event, customer_id=_id(obj.get("customer")))


# --- invoice.paid, invoice.payment_failed ---------------------------------------------------------


def _invoice_subscription_id(invoice: dict) -> str:
    """The invoice's subscription: on the invoice in older API versions, under `parent` now."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return _id(invoice.get("subscription")) or _id(details.get("subscription"))


def _invoice_period(invoice: dict) -> tuple[datetime | None, datetime | None]:
    """The period the invoice's subscription line pays (the invoice's own period is the one before)."""
    lines = (invoice.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") or {}) if lines else {}
    return (
        _time(period.get("start") or invoice.get("period_start")),
        _time(period.get("end") or invoice.get("period_end")),
    )


def portal_url() -> str:
    """Where a member manages their subscription: the brand's `/vip/` page (its link to Stripe's
    customer portal opens a session there, a portal session's own address expires)."""
    base = site_url()
    return f"{base}vip/" if base else ""


def _subscription_ignored(*, event: StripeEvent, subscription_id: str) -> bool:
    """Whether an event of the subscription `subscription_id` was ignored (none of VIP's): its
    invoices need not wait for it."""
    return StripeEvent.objects.filter(
        brand=event.brand,
        state=StripeEvent.State.IGNORED,
        type__startswith="customer.subscription.",
        payload__data__object__id=subscription_id,
    ).exists()


def invoice_apply(event: StripeEvent) -> None:
    """One `Payment` per invoice of a VIP subscription (another invoice of the member's customer is
    ignored): a failed one becomes paid when a retry succeeds, a paid one stays paid whatever comes
    late. A payment failed sends the member the `payment_failed` message once per invoice, with the
    link to manage their subscription."""
    invoice = _object(event)
    paid = event.type == "invoice.paid"
    subscription_id = _invoice_subscription_id(invoice)
    if not subscription_id:
        # A one-off invoice of the member's customer (something else the brand bills): no VIP's.
        raise NotOurs(f"the invoice {invoice.get('id')} is of no subscription")
    subscription = (
        Subscription.objects.select_related("member").filter(stripe_subscription_id=subscription_id).first()
    )
    if subscription is None:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        known = Customer.objects.filter(stripe_customer_id=_id(invoice.get("customer"))).exists()
        if not known and _member_of_reference(obj=details) is None:
            raise NotOurs(f"the subscription {subscription_id} is none of this brand's members'")
        if _subscription_ignored(event=event, subscription_id=subscription_id):
            raise NotOurs(f"the subscription {subscription_id} is none of this brand's VIP plans'")
        raise NotYetKnown(f"the subscription {subscription_id} is not known yet")
    member = subscription.member
    currency = str(invoice.get("currency") or "eur").upper()
    amount = invoice.get("amount_paid") if paid else invoice.get("amount_due")
    period_start, period_end = _invoice_period(invoice)
    paid_at = _time((invoice.get("status_transitions") or {}).get("paid_at")) if paid else None
    values = {
        "subscription": subscription,
        "member": member,
        "status": Payment.Status.PAID if paid else Payment.Status.FAILED,
        "amount": amount_from_minor(amount=amount or 0, currency=currency),
        "currency": currency,
        "application_fee": amount_from_minor(
            amount=invoice.get("application_fee_amount") or 0, currency=currency
        ),
        "period_start": period_start,
        "period_end": period_end,
        "at": paid_at or event.created,
        "stripe_event_id": event.event_id,
    }
    payment = Payment.objects.select_for_update().filter(stripe_invoice_id=invoice["id"]).first()
    if payment is None:
        try:
            with transaction.atomic():
                payment = Payment.objects.create(stripe_invoice_id=invoice["id"], **values)
        except IntegrityError:
            payment = Payment.objects.select_for_update().get(stripe_invoice_id=invoice["id"])
    elif paid and payment.status == Payment.Status.FAILED:
        for name, value in values.items():
            setattr(payment, name, value)
        payment.save()
    if payment.status == Payment.Status.FAILED:
        trigger_fire(
            kind="payment_failed",
            member=member,
            variables={"portal_url": portal_url()},
            dedupe_key=invoice["id"],
        )


# --- account.updated ------------------------------------------------------------------------------


def account_event_apply(event: StripeEvent) -> None:
    """The brand's connected account as Stripe now says it is (`billing.services.connect`)."""
    account = _object(event)
    if account.get("id") != event.account_id:
        raise Conflict(f"the event of {event.account_id} is about another account ({account.get('id')})")
    from billing.services.connect import stripe_account_apply

    stripe_account_apply(account=account)


# --- leaving the sandbox -------------------------------------------------------------------------


def sandbox_subscriptions_end(*, now: datetime | None = None) -> int:
    """End now the brand's sandbox subscriptions that still give VIP (never paid: the platform
    has its Stripe key, the brand a real account), each with its change in the history, and
    recompute their members' VIP: how many."""
    now = now or timezone.now()
    live = Q(ended_at__isnull=True) | Q(current_period_end__gt=now)
    rows = Subscription.objects.select_for_update().select_related("member").filter(live, sandbox=True)
    count = 0
    for subscription in rows.order_by("pk"):
        before = subscription.status
        subscription.status = Subscription.Status.CANCELED
        subscription.canceled_at = subscription.canceled_at or now
        subscription.ended_at = subscription.current_period_end = now
        subscription.state_at = max(subscription.state_at, now)
        subscription.save()
        SubscriptionChange.objects.create(
            subscription=subscription,
            at=subscription.state_at,
            status_before=before,
            status=subscription.status,
            amount=subscription.amount,
            currency=subscription.currency,
            interval=subscription.interval,
            cancel_at_period_end=subscription.cancel_at_period_end,
        )
        member_vip_refresh(member=subscription.member, now=now)
        count += 1
    return count


# --- the end of a cancelled subscription's period ---------------------------------------------


def subscriptions_period_end_refresh(*, now: datetime | None = None) -> int:
    """Recompute the VIP of the members VIP by subscription whose subscription no longer gives it
    (a cancelled one whose period has ended): how many."""
    now = now or timezone.now()
    live = subscriptions_live(now=now).values("member_id")
    ended = Member.objects.filter(vip_source=Member.VipSource.SUBSCRIPTION).exclude(pk__in=live)
    count = 0
    for member in ended.order_by("pk"):
        member_vip_refresh(member=member, now=now)
        count += 1
    return count
