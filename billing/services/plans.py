"""VIP plans and their Stripe product and price on the brand's account (README.md, "VIP and
billing"): a plan is written to Stripe when it is saved, through the API only. A Stripe price cannot
change, so a new price, currency or interval is a new Stripe price and the old one is archived
(`active=false`): the subscriptions already on it keep paying what they pay."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from billing.gateway import Gateway, GatewayError, gateway_for
from billing.models import VipPlan
from billing.services.connect import brand_current, refused_by_stripe
from billing.services.subscriptions import ZERO_DECIMAL_CURRENCIES, minor_exponent
from core.errors import InvalidInput
from tenants.models import StripeAccount

EDITABLE_FIELDS = (
    "code",
    "name",
    "price",
    "currency",
    "interval",
    "benefits",
    "trial_days",
    "is_active",
    "position",
)
# What changes the Stripe price (the rest is the product's, or ours).
PRICE_FIELDS = ("price", "currency", "interval")
PRODUCT_FIELDS = ("name", "benefits", "is_active")
TRIAL_DAYS_MAX = 730  # Stripe's limit for trial_period_days
PRICE_MAX = Decimal("99999999.99")
NAME_MAX = 80  # VipPlan.name's max_length


def amount_to_minor(*, amount: Decimal, currency: str) -> int:
    """A Decimal of the currency in Stripe's integer smallest unit (cents; whole yen for JPY;
    thousandths for KWD)."""
    return int(amount.scaleb(minor_exponent(currency)).to_integral_value())


def _errors_of(data: dict[str, Any], plan: VipPlan | None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned values and the errors per field of a plan's fields `data`."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    name = str(data.get("name") if data.get("name") is not None else (plan.name if plan else "")).strip()
    if not name:
        fail("name", "a plan has a name")
    elif len(name) > NAME_MAX:
        fail("name", f"at most {NAME_MAX} characters")
    values["name"] = name
    code = str(data.get("code") or (plan.code if plan else "") or slugify(name)[:40]).strip()
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,40}", code):
        fail("code", "letters, digits, - and _ only, at most 40")
    else:
        others = VipPlan.objects.filter(code=code)
        if plan is not None:
            others = others.exclude(pk=plan.pk)
        if others.exists():
            fail("code", "another plan has this code")
    values["code"] = code
    currency = (
        str(data.get("currency") or (plan.currency if plan else "") or brand_current().currency)
        .strip()
        .upper()
    )
    if not re.fullmatch(r"[A-Z]{3}", currency):
        fail("currency", "a currency's ISO code, 3 letters (EUR, JPY)")
    values["currency"] = currency
    raw_price = data.get("price", plan.price if plan else None)
    try:
        price = Decimal(str(raw_price)) if raw_price not in (None, "") else None
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite():
        fail("price", "a price is a number (12.90)")
    elif price <= 0 or price > PRICE_MAX:
        fail("price", "a price is more than 0 and at most 99999999.99")
    else:
        decimals = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
        if price != price.quantize(Decimal(1).scaleb(-decimals)):
            fail(
                "price", f"{currency} has {decimals} decimals" if decimals else f"{currency} has no decimals"
            )
    values["price"] = price
    interval = data.get("interval") or (plan.interval if plan else VipPlan.Interval.MONTH)
    if interval not in VipPlan.Interval.values:
        fail("interval", "month or year")
    values["interval"] = interval
    trial = data.get("trial_days", plan.trial_days if plan else 0)
    try:
        trial_days = int(trial or 0)
    except (TypeError, ValueError):
        trial_days = -1
    if not 0 <= trial_days <= TRIAL_DAYS_MAX:
        fail("trial_days", f"a number of days from 0 to {TRIAL_DAYS_MAX}")
    values["trial_days"] = trial_days
    values["benefits"] = str(data.get("benefits", plan.benefits if plan else "") or "")
    if "\x00" in values["benefits"] or "\x00" in name:
        fail("benefits", "holds a NUL character")
    values["is_active"] = bool(data.get("is_active", plan.is_active if plan else True))
    position = data.get("position", plan.position if plan else 0)
    try:
        values["position"] = int(position or 0)
    except (TypeError, ValueError):
        values["position"] = -1
    if not 0 <= values["position"] <= 32767:
        fail("position", "a number from 0 to 32767")
    return values, errors


def vip_plan_validate(*, data: dict[str, Any], plan: VipPlan | None = None) -> VipPlan:
    """The plan `data` would make (unsaved), or InvalidInput with the errors per field."""
    values, errors = _errors_of(data, plan)
    if not StripeAccount.objects.filter(brand=brand_current()).exists():
        errors.setdefault("", []).append(
            "connect the brand's Stripe account first (VIP plans > Stripe account)"
        )
    if errors:
        raise InvalidInput(errors)
    target = plan if plan is not None else VipPlan()
    for name, value in values.items():
        setattr(target, name, value)
    return target


def _plan_sync(*, plan: VipPlan, before: dict[str, Any] | None, gateway: Gateway, account_id: str) -> None:
    """Write the plan's product and price to Stripe (what changed since `before`)."""
    metadata = {"plan": plan.code, "plan_id": str(plan.pk)}
    schema = brand_current().schema_name
    if not plan.stripe_product_id:
        product = gateway.product_create(
            account_id=account_id,
            name=plan.name,
            description=plan.benefits,
            metadata=metadata,
            idempotency_key=f"{schema}-plan-{plan.pk}-product",
        )
        plan.stripe_product_id = product["id"]
    elif before is not None and any(before[name] != getattr(plan, name) for name in PRODUCT_FIELDS):
        gateway.product_update(
            account_id=account_id,
            product_id=plan.stripe_product_id,
            name=plan.name,
            description=plan.benefits,
            active=plan.is_active,
        )
    if not plan.stripe_price_id or (
        before is not None and any(before[name] != getattr(plan, name) for name in PRICE_FIELDS)
    ):
        old = plan.stripe_price_id
        price = gateway.price_create(
            account_id=account_id,
            product_id=plan.stripe_product_id,
            unit_amount=amount_to_minor(amount=plan.price, currency=plan.currency),
            currency=plan.currency,
            interval=plan.interval,
            metadata=metadata,
            idempotency_key=f"{schema}-plan-{plan.pk}-price-{uuid.uuid4().hex}",
        )
        plan.stripe_price_id = price["id"]
        if old:
            gateway.price_archive(account_id=account_id, price_id=old)


def vip_plan_save(*, data: dict[str, Any], plan: VipPlan | None = None) -> VipPlan:
    """Create or update a plan and write it to the brand's Stripe account in the same transaction:
    Stripe refusing (or unreachable) is a `Refused` and nothing is saved."""
    brand = brand_current()
    gateway = gateway_for(brand)
    with transaction.atomic():
        if plan is not None:
            plan = VipPlan.objects.select_for_update().get(pk=plan.pk)
        before = {name: getattr(plan, name) for name in EDITABLE_FIELDS} if plan is not None else None
        plan = vip_plan_validate(data=data, plan=plan)
        plan.save()
        account = StripeAccount.objects.get(brand=brand)
        try:
            _plan_sync(plan=plan, before=before, gateway=gateway, account_id=account.account_id)
        except GatewayError as error:
            raise refused_by_stripe(error) from error
        plan.synced_at = timezone.now()
        plan.save(update_fields=["stripe_product_id", "stripe_price_id", "synced_at", "updated_at"])
    return plan
