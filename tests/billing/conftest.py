"""Billing's fixtures: the fake Stripe API (tests/fakes/stripe.py) the settings point at."""

from __future__ import annotations

import pytest

from tests.fakes.stripe import FakeStripe


@pytest.fixture
def fake_stripe(settings):
    """A fake Stripe running for the test; the platform's key, webhook secret and API base are its."""
    with FakeStripe() as fake:
        settings.STRIPE_API_BASE = fake.base_url
        settings.STRIPE_SECRET_KEY = fake.api_key
        settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
        yield fake


@pytest.fixture
def connected_a(in_a, fake_stripe):
    """Brand A's Stripe account on the fake, onboarded (charges and payouts enabled)."""
    from tenants.models import StripeAccount

    account = fake_stripe.account_add()
    return StripeAccount.objects.create(
        brand=in_a,
        account_id=account["id"],
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
    )
