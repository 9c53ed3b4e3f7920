"""A brand's own Stripe account (Connect, README.md "VIP and billing"): created from the backoffice,
onboarded on Stripe's pages through account links, its state (charges, payouts, what Stripe still
asks) stored in `tenants.StripeAccount` and kept up to date by `account.updated` events.

Without the platform's Stripe key the account is a sandbox one (`billing.gateway.SandboxGateway`),
onboarded at once."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from billing.gateway import GatewayError, gateway_for
from billing.models import VipPlan
from billing.services.subscriptions import sandbox_subscriptions_end
from core.errors import NotFound, Refused
from tenants.models import Brand, StripeAccount
from tenants.selectors import schema_current

# The country a new connected account is created in, by the brand's timezone's region; Stripe's
# onboarding lets the brand's owner say otherwise.
DEFAULT_COUNTRY = "FR"
COUNTRY_BY_TIMEZONE = {
    "Europe/Paris": "FR",
    "Europe/Brussels": "BE",
    "Europe/Luxembourg": "LU",
    "Europe/Zurich": "CH",
    "Europe/London": "GB",
    "Europe/Berlin": "DE",
    "Europe/Madrid": "ES",
    "Europe/Rome": "IT",
    "America/New_York": "US",
    "America/Montreal": "CA",
    "Asia/Tokyo": "JP",
}


def brand_current() -> Brand:
    """The brand whose schema the connection is on."""
    return Brand.objects.get(schema_name=schema_current())


def refused_by_stripe(error: GatewayError) -> Refused:
    """Stripe's refusal or outage as the domain's error (the field Stripe named, when it did)."""
    return Refused(f"Stripe: {error.message}", code="stripe_error", field=error.param)


def _fields_of(account: dict[str, Any]) -> dict[str, Any]:
    requirements = account.get("requirements") or {}
    due = [str(item) for item in (requirements.get("currently_due") or [])]
    return {
        "charges_enabled": bool(account.get("charges_enabled")),
        "payouts_enabled": bool(account.get("payouts_enabled")),
        "details_submitted": bool(account.get("details_submitted")),
        "requirements_due": due,
    }


def stripe_account_apply(*, account: dict[str, Any]) -> StripeAccount | None:
    """Store what Stripe's account object `account` says (an `account.updated` event's, or a
    fresh read) on its `StripeAccount` row: the row, or None when no brand has that account."""
    with transaction.atomic():
        row = StripeAccount.objects.select_for_update().filter(account_id=account.get("id") or "").first()
        if row is None:
            return None
        for name, value in _fields_of(account).items():
            setattr(row, name, value)
        row.save()
        return row


def _sandbox_leave(*, row: StripeAccount) -> None:
    """The brand's sandbox account, made before the platform had its Stripe key, unknown to
    Stripe: deleted; its subscriptions (never paid) end now; the plans' products and prices are
    the sandbox's: off sale until saved again, which writes them to the new account."""
    row.delete()
    sandbox_subscriptions_end()
    VipPlan.objects.update(stripe_product_id="", stripe_price_id="", synced_at=None)


def stripe_account_connect(*, brand: Brand, email: str, refresh_url: str, return_url: str) -> str:
    """The address where the brand's owner onboards its Stripe account: the account is created the
    first time (once, whatever the clicks: the brand's row is locked and the create's idempotency
    key is the brand's) or in place of a sandbox one once the platform has its Stripe key, then
    every call makes a new account link (Stripe's expire in minutes)."""
    gateway = gateway_for(brand)
    with transaction.atomic():
        Brand.objects.select_for_update().filter(pk=brand.pk).first()
        row = StripeAccount.objects.filter(brand=brand).first()
        if row is not None and row.sandbox and not gateway.sandbox:
            _sandbox_leave(row=row)
            row = None
        if row is None:
            try:
                account = gateway.account_create(
                    email=email,
                    business_name=brand.name,
                    country=COUNTRY_BY_TIMEZONE.get(brand.timezone, DEFAULT_COUNTRY),
                    idempotency_key=f"account-{brand.schema_name}-{brand.pk}",
                )
            except GatewayError as error:
                raise refused_by_stripe(error) from error
            row = StripeAccount.objects.create(
                brand=brand, account_id=account["id"], sandbox=gateway.sandbox, **_fields_of(account)
            )
    try:
        link = gateway.account_link_create(
            account_id=row.account_id, refresh_url=refresh_url, return_url=return_url
        )
    except GatewayError as error:
        raise refused_by_stripe(error) from error
    return str(link["url"])


def stripe_account_refresh(*, brand: Brand) -> StripeAccount:
    """The brand's account read again from Stripe (on the way back from onboarding: the
    `account.updated` event may come later)."""
    row = StripeAccount.objects.filter(brand=brand).first()
    if row is None:
        raise NotFound("the brand has no Stripe account yet", field="account")
    try:
        account = gateway_for(brand).account_retrieve(account_id=row.account_id)
    except GatewayError as error:
        raise refused_by_stripe(error) from error
    return stripe_account_apply(account=account) or row
