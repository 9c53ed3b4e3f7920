"""What the platform asks of Stripe (README.md, "VIP and billing"), in one small class per way of
asking: `StripeGateway` calls Stripe's API with the `stripe` library and the platform's Connect
secret key (`STRIPE_SECRET_KEY`, at `STRIPE_API_BASE`: tests point it at `tests/fakes/stripe.py`);
`SandboxGateway`, used when there is no key, answers the same calls locally with objects shaped
like Stripe's (ids `acct_`, `prod_`, `price_`, `cus_`, `cs_`, `bps_`) whose pages are our own
sandbox pages (`billing.sandbox`), so `make run` shows the whole flow offline.

Every call about a brand's connected account passes it as `stripe_account` (the `Stripe-Account`
header): products, prices, customers, sessions and subscriptions live on the brand's account, so
the money goes to the brand. Every create carries an `idempotency_key`: a retry of the same create
(the library's own retries, a double click) gives back the object made the first time. Methods
answer Stripe's objects as plain dicts; a refusal or an outage is a `GatewayError`.
"""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from tenants.models import Brand, StripeEvent

# A sandbox checkout session lives as long as one of Stripe's (24 hours).
SANDBOX_SESSION_SECONDS = 24 * 3600


class GatewayError(Exception):
    """Stripe refused a call or could not be reached: its message, the parameter it names (Stripe's
    `param`, e.g. `unit_amount`), its HTTP status (None when unreachable)."""

    def __init__(self, message: str, *, param: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


def _checkout_fields(
    *,
    price_id: str,
    customer_id: str,
    success_url: str,
    cancel_url: str,
    client_reference_id: str,
    metadata: dict[str, str],
    application_fee_percent: Decimal | None,
    trial_days: int,
    locale: str,
) -> dict[str, Any]:
    """The Checkout session's parameters, as Stripe's API names them."""
    subscription_data: dict[str, Any] = {"metadata": metadata}
    if application_fee_percent:
        subscription_data["application_fee_percent"] = format(application_fee_percent.normalize(), "f")
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
    return {
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": 1}],
        "customer": customer_id,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "metadata": metadata,
        "subscription_data": subscription_data,
        "locale": locale or "auto",
    }


class StripeGateway:
    """Stripe's API through the `stripe` library (module docstring)."""

    sandbox = False

    def __init__(self, *, api_key: str, api_base: str, timeout: float) -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base, "connect": api_base},
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=2,
        )

    @staticmethod
    def _call(method: Any, *args: Any, **options: Any) -> dict:
        try:
            return method(*args, options=options or None).to_dict()
        except stripe.StripeError as error:
            param = getattr(error, "param", None)
            raise GatewayError(
                error.user_message or str(error) or type(error).__name__,
                param=param,
                status=error.http_status,
            ) from error

    # --- the platform's calls (Connect) ----------------------------------------------------------

    def account_create(self, *, email: str, business_name: str, country: str, idempotency_key: str) -> dict:
        """A connected account (Express) for the brand; Stripe's onboarding collects the rest."""
        params: dict[str, Any] = {
            "type": "express",
            "country": country,
            "email": email,
            "business_profile": {"name": business_name},
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        }
        return self._call(self.client.v1.accounts.create, params, idempotency_key=idempotency_key)

    def account_link_create(self, *, account_id: str, refresh_url: str, return_url: str) -> dict:
        """A one-time onboarding link (its `url`) for the account's owner."""
        params = {
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
        key = f"account-link-{account_id}-{secrets.token_hex(8)}"
        return self._call(self.client.v1.account_links.create, params, idempotency_key=key)

    def account_retrieve(self, *, account_id: str) -> dict:
        return self._call(self.client.v1.accounts.retrieve, account_id)

    # --- the brand's account's calls ---------------------------------------------------------------

    def product_create(
        self, *, account_id: str, name: str, description: str, metadata: dict[str, str], idempotency_key: str
    ) -> dict:
        params: dict[str, Any] = {"name": name, "metadata": metadata}
        if description:
            params["description"] = description
        return self._call(
            self.client.v1.products.create, params, stripe_account=account_id, idempotency_key=idempotency_key
        )

    def product_update(
        self, *, account_id: str, product_id: str, name: str, description: str, active: bool
    ) -> dict:
        # Stripe clears a field given as an empty string.
        params = {"name": name, "description": description, "active": active}
        return self._call(self.client.v1.products.update, product_id, params, stripe_account=account_id)

    def price_create(
        self,
        *,
        account_id: str,
        product_id: str,
        unit_amount: int,
        currency: str,
        interval: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict:
        params = {
            "product": product_id,
            "unit_amount": unit_amount,
            "currency": currency.lower(),
            "recurring": {"interval": interval},
            "metadata": metadata,
        }
        return self._call(
            self.client.v1.prices.create, params, stripe_account=account_id, idempotency_key=idempotency_key
        )

    def price_archive(self, *, account_id: str, price_id: str) -> dict:
        """A price cannot be changed or deleted: it is archived (`active=false`), the subscriptions
        on it go on."""
        return self._call(
            self.client.v1.prices.update, price_id, {"active": False}, stripe_account=account_id
        )

    def customer_create(
        self, *, account_id: str, email: str, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> dict:
        params: dict[str, Any] = {"metadata": metadata}
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        return self._call(
            self.client.v1.customers.create,
            params,
            stripe_account=account_id,
            idempotency_key=idempotency_key,
        )

    def checkout_session_create(self, *, account_id: str, idempotency_key: str, **fields: Any) -> dict:
        """A Checkout session in subscription mode (`_checkout_fields` names the fields): the
        application fee and the trial are the subscription's (`subscription_data`)."""
        return self._call(
            self.client.v1.checkout.sessions.create,
            _checkout_fields(**fields),
            stripe_account=account_id,
            idempotency_key=idempotency_key,
        )

    def portal_session_create(
        self, *, account_id: str, customer_id: str, return_url: str, locale: str
    ) -> dict:
        params = {"customer": customer_id, "return_url": return_url, "locale": locale or "auto"}
        key = f"portal-{customer_id}-{secrets.token_hex(8)}"
        return self._call(
            self.client.v1.billing_portal.sessions.create,
            params,
            stripe_account=account_id,
            idempotency_key=key,
        )

    def subscription_retrieve(self, *, account_id: str, subscription_id: str) -> dict:
        """The subscription as Stripe has it now (for order-proofing: newer than any event)."""
        return self._call(self.client.v1.subscriptions.retrieve, subscription_id, stripe_account=account_id)


def _sandbox_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SandboxGateway:
    """The same calls answered locally (module docstring): nothing leaves the machine. Accounts are
    onboarded at once; a checkout session is kept 24 hours in the cache and paid on the sandbox's
    checkout page; a subscription is as the sandbox's latest event about it says."""

    sandbox = True

    @staticmethod
    def _now() -> int:
        return int(time.time())

    def account_create(self, *, email: str, business_name: str, country: str, idempotency_key: str) -> dict:
        return {
            "id": _sandbox_id("acct_"),
            "object": "account",
            "type": "express",
            "country": country,
            "email": email,
            "business_profile": {"name": business_name},
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "requirements": {
                "currently_due": [],
                "eventually_due": [],
                "past_due": [],
                "disabled_reason": None,
            },
            "created": self._now(),
        }

    def account_link_create(self, *, account_id: str, refresh_url: str, return_url: str) -> dict:
        # Nothing to fill in: the sandbox's onboarding is over at once.
        return {
            "object": "account_link",
            "created": self._now(),
            "expires_at": self._now() + 300,
            "url": return_url,
        }

    def account_retrieve(self, *, account_id: str) -> dict:
        return self.account_create(email="", business_name="", country="", idempotency_key="") | {
            "id": account_id
        }

    def product_create(
        self, *, account_id: str, name: str, description: str, metadata: dict[str, str], idempotency_key: str
    ) -> dict:
        return {
            "id": _sandbox_id("prod_"),
            "object": "product",
            "active": True,
            "name": name,
            "description": description or None,
            "metadata": metadata,
            "created": self._now(),
            "livemode": False,
        }

    def product_update(
        self, *, account_id: str, product_id: str, name: str, description: str, active: bool
    ) -> dict:
        return {
            "id": product_id,
            "object": "product",
            "active": active,
            "name": name,
            "description": description,
        }

    def price_create(
        self,
        *,
        account_id: str,
        product_id: str,
        unit_amount: int,
        currency: str,
        interval: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict:
        return {
            "id": _sandbox_id("price_"),
            "object": "price",
            "active": True,
            "currency": currency.lower(),
            "product": product_id,
            "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
            "type": "recurring",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
            "metadata": metadata,
            "created": self._now(),
            "livemode": False,
        }

    def price_archive(self, *, account_id: str, price_id: str) -> dict:
        return {"id": price_id, "object": "price", "active": False}

    def customer_create(
        self, *, account_id: str, email: str, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> dict:
        return {
            "id": _sandbox_id("cus_"),
            "object": "customer",
            "email": email or None,
            "name": name or None,
            "metadata": metadata,
            "created": self._now(),
            "livemode": False,
        }

    def checkout_session_create(self, *, account_id: str, idempotency_key: str, **fields: Any) -> dict:
        """The session, kept for the sandbox's checkout page (`billing.sandbox`), whose address it
        answers as `url`, on the host of the success page."""
        key = f"billing:sandbox:idempotency:{account_id}:{idempotency_key}"
        known = cache.get(key)
        if known is not None:
            return known
        params = _checkout_fields(**fields)
        session_id = _sandbox_id("cs_test_")
        now = self._now()
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "customer": params["customer"],
            "client_reference_id": params["client_reference_id"],
            "metadata": params["metadata"],
            "success_url": params["success_url"],
            "cancel_url": params["cancel_url"],
            "subscription": None,
            "created": now,
            "expires_at": now + SANDBOX_SESSION_SECONDS,
            "livemode": False,
            "url": _origin(params["success_url"]) + reverse("billing-sandbox-checkout", args=[session_id]),
            # What Stripe keeps of the session without answering it, for the sandbox's payment.
            "sandbox": {
                "account": account_id,
                "price": params["line_items"][0]["price"],
                "subscription_data": params["subscription_data"],
            },
        }
        cache.set(sandbox_session_key(session_id), session, SANDBOX_SESSION_SECONDS)
        cache.set(key, session, SANDBOX_SESSION_SECONDS)
        return session

    def portal_session_create(
        self, *, account_id: str, customer_id: str, return_url: str, locale: str
    ) -> dict:
        session_id = _sandbox_id("bps_")
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer_id,
            "return_url": return_url,
            "created": self._now(),
            "livemode": False,
            "url": _origin(return_url) + reverse("billing-sandbox-portal", args=[session_id]),
        }
        cache.set(sandbox_session_key(session_id), session, SANDBOX_SESSION_SECONDS)
        return session

    def subscription_retrieve(self, *, account_id: str, subscription_id: str) -> dict:
        """The subscription as the sandbox's latest event about it made it."""
        event = (
            StripeEvent.objects.filter(
                account_id=account_id,
                type__startswith="customer.subscription.",
                payload__data__object__id=subscription_id,
            )
            .order_by("-created", "-id")
            .first()
        )
        if event is None:
            raise GatewayError(f"No such subscription: '{subscription_id}'", param="id", status=404)
        return event.payload["data"]["object"]


def sandbox_session_key(session_id: str) -> str:
    """The cache key of a sandbox checkout or portal session (the brand's schema is in every key)."""
    return f"billing:sandbox:session:{session_id}"


Gateway = StripeGateway | SandboxGateway


def sandbox_on() -> bool:
    """Whether the local sandbox runs: only while the platform has no Stripe key. With a key, a
    brand's sandbox account left from before is refused everywhere (its checkout would give VIP
    for nothing); the brand connects a real account instead (`stripe_account_connect`)."""
    return not settings.STRIPE_SECRET_KEY


def stripe_live() -> bool:
    """Whether the platform's key is a live mode one (`sk_live_`, or a restricted `rk_live_`)."""
    return settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))


def gateway_for(brand: Brand) -> Gateway:
    """The gateway of `brand`: the sandbox when the platform has no Stripe key, Stripe's API
    otherwise (whatever account the brand has)."""
    if sandbox_on():
        return SandboxGateway()
    return StripeGateway(
        api_key=settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_API_BASE, timeout=settings.STRIPE_TIMEOUT
    )
