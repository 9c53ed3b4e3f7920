"""A member subscribing to a VIP plan (README.md, "VIP and billing"): a Stripe Checkout session in
subscription mode on the brand's connected account, with the platform's application fee (the
brand's `PlatformPlan.application_fee_percent`) and the plan's trial; and the customer portal, where
the member manages or cancels it. The subscription itself arrives by Stripe's events
(`billing.services.events`)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from django.db import IntegrityError, transaction

from billing.gateway import GatewayError, gateway_for
from billing.models import Customer, Subscription
from billing.selectors import vip_plans_on_sale
from billing.selectors_vip import subscription_live_for
from billing.services.connect import brand_current, refused_by_stripe
from core.errors import Conflict, NotFound, Refused
from loyalty.models import Member
from tenants.models import StripeAccount

# How long the same Checkout session is answered again to the same member asking for the same plan.
CHECKOUT_REUSE_SECONDS = 600


def _account_ready() -> StripeAccount:
    account = StripeAccount.objects.filter(brand=brand_current()).first()
    if account is None or not account.charges_enabled:
        raise Refused("the brand does not take VIP subscriptions yet", code="stripe_not_ready")
    return account


def _customer_of(*, member: Member, account: StripeAccount) -> str:
    """The member's customer on the brand's account, created the first time (one per member: the
    create's idempotency key is the member's)."""
    known = Customer.objects.filter(member=member).first()
    if known is not None:
        return known.stripe_customer_id
    brand = brand_current()
    customer = gateway_for(brand).customer_create(
        account_id=account.account_id,
        email=member.email,
        name=" ".join(part for part in (member.first_name, member.last_name) if part),
        metadata={"brand": brand.schema_name, "member_id": str(member.pk)},
        idempotency_key=f"{brand.schema_name}-member-{member.pk}-customer",
    )
    try:
        with transaction.atomic():
            Customer.objects.create(member=member, stripe_customer_id=customer["id"])
    except IntegrityError:  # made meanwhile (another tab): the same customer, by the same key
        return Customer.objects.get(member=member).stripe_customer_id
    return str(customer["id"])


def _checkout_key(fields: dict[str, Any], *, member: Member, schema_name: str) -> str:
    """The Checkout create's idempotency key: the same for the same session asked again within
    `CHECKOUT_REUSE_SECONDS` (a double click, a second tab: Stripe answers the first session, so
    the member cannot pay two subscriptions before the first one's events arrive), another for any
    other parameters (another plan, language...), which Stripe would refuse under a used key."""
    window = int(time.time() // CHECKOUT_REUSE_SECONDS)
    asked = json.dumps(fields, sort_keys=True, default=str) + f"|{window}"
    return f"{schema_name}-checkout-{member.pk}-{hashlib.sha256(asked.encode()).hexdigest()[:32]}"


def checkout_session_start(
    *, member: Member, plan_id: int, success_url: str, cancel_url: str, locale: str = ""
) -> str:
    """The address of a new Checkout session where `member` subscribes to the plan `plan_id`
    (active, of this brand). A member whose subscription still gives VIP manages it instead
    (Conflict `subscription_live`); the trial is for a first subscription only."""
    plan = vip_plans_on_sale().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("no such VIP plan", field="plan")
    if subscription_live_for(member=member) is not None:
        raise Conflict("you already have a VIP subscription: manage it", code="subscription_live")
    account = _account_ready()
    brand = brand_current()
    fee = brand.platform_plan.application_fee_percent if brand.platform_plan_id else None
    first = not Subscription.objects.filter(member=member).exists()
    try:
        fields = {
            "price_id": plan.stripe_price_id,
            "customer_id": _customer_of(member=member, account=account),
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(member.pk),
            "metadata": {"brand": brand.schema_name, "member_id": str(member.pk), "plan": plan.code},
            "application_fee_percent": fee,
            "trial_days": plan.trial_days if first else 0,
            "locale": locale,
        }
        session = gateway_for(brand).checkout_session_create(
            account_id=account.account_id,
            idempotency_key=_checkout_key(fields, member=member, schema_name=brand.schema_name),
            **fields,
        )
    except GatewayError as error:
        raise refused_by_stripe(error) from error
    return str(session["url"])


def portal_session_start(*, member: Member, return_url: str, locale: str = "") -> str:
    """The address of a customer portal session of the member's customer (Stripe's page where they
    change their card, see their invoices, cancel)."""
    customer = Customer.objects.filter(member=member).first()
    if customer is None:
        raise NotFound("you have no VIP subscription to manage", field="customer")
    account = _account_ready()
    try:
        session = gateway_for(brand_current()).portal_session_create(
            account_id=account.account_id,
            customer_id=customer.stripe_customer_id,
            return_url=return_url,
            locale=locale,
        )
    except GatewayError as error:
        raise refused_by_stripe(error) from error
    return str(session["url"])
