"""Tenant isolation of Stripe's events: a subscription on brand A's connected account only ever
reaches A's members. An event whose `account` field is changed to brand B's account (after
signing: refused; before, as if signed: stored for B) never grants VIP to a member of B, not even
the one whose id is the id of A's subscriber."""

from __future__ import annotations

import re
import secrets

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from billing.models import Customer, Payment, Subscription
from billing.services.events import stripe_event_handle, stripe_event_store
from loyalty.models import Member
from tenants.models import StripeEvent
from tests.factories import member_make
from tests.support import stripe_account_of, stripe_deliver, stripe_post, stripe_served, stripe_subscribe

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def fake(db, brand_a, brand_b):
    with stripe_served(brand_a, brand_b) as served:
        yield served


@pytest.fixture
def twins(db, brand_a, brand_b) -> tuple[Member, Member]:
    """A member of A and a member of B with the same id."""
    with schema_context(brand_a.schema_name):
        in_a = member_make()
    with schema_context(brand_b.schema_name):
        in_b = member_make()
        Member.objects.filter(pk=in_b.pk).update(id=in_a.pk)
        in_b = Member.objects.get(pk=in_a.pk)
    return in_a, in_b


def _nothing_in_b(brand_b, member_b: Member) -> None:
    with schema_context(brand_b.schema_name):
        assert not Subscription.objects.exists()
        assert not Customer.objects.exists()
        assert not Payment.objects.exists()
        member_b.refresh_from_db()
        assert (member_b.is_vip, member_b.vip_source) == (False, "")


def test_a_subscription_of_a_gives_vip_in_a_only(fake, brand_a, brand_b, twins):
    member_a, member_b = twins
    platform = Client(HTTP_HOST="localhost")
    events = stripe_subscribe(fake, brand=brand_a, member_id=member_a.pk)
    for event in events:
        assert stripe_post(platform, fake, event).status_code == 200
    assert set(
        StripeEvent.objects.filter(event_id__in=[e["id"] for e in events]).values_list("brand", flat=True)
    ) == {brand_a.pk}
    stripe_deliver(*events)
    with schema_context(brand_a.schema_name):
        member_a.refresh_from_db()
        assert (member_a.is_vip, member_a.vip_source) == (True, "subscription")
    _nothing_in_b(brand_b, member_b)


def test_an_account_changed_after_signing_is_refused(fake, brand_a, brand_b, twins):
    member_a, member_b = twins
    platform = Client(HTTP_HOST="localhost")
    for event in stripe_subscribe(fake, brand=brand_a, member_id=member_a.pk):
        signed = fake.signed(event)
        forged = signed.body.replace(stripe_account_of(brand_a).encode(), stripe_account_of(brand_b).encode())
        response = platform.post(
            "/hooks/stripe/",
            data=forged,
            content_type="application/json",
            headers={"Stripe-Signature": signed.signature},
        )
        assert response.status_code == 400
        assert not StripeEvent.objects.filter(event_id=event["id"]).exists()
    _nothing_in_b(brand_b, member_b)


def test_events_of_a_forged_to_bs_account_never_reach_bs_members(fake, brand_a, brand_b, twins):
    """Even signed (as only someone with the platform's webhook secret could), A's checkout, its
    subscription and its invoice with B's account in `account`: B has no such customer, and the
    member they name is A's (their reference names A's schema), so they are ignored."""
    member_a, member_b = twins
    platform = Client(HTTP_HOST="localhost")
    events = stripe_subscribe(fake, brand=brand_a, member_id=member_a.pk)
    forged = [
        {**event, "id": f"evt_{secrets.token_hex(12)}", "account": stripe_account_of(brand_b)}
        for event in events
    ]
    for event in forged:
        assert stripe_post(platform, fake, event).status_code == 200
    stored = stripe_deliver(*forged)
    assert {event.brand_id for event in stored} == {brand_b.pk}
    # The checkout, the subscription and the invoice name no member of B.
    assert [event.state for event in stored] == ["ignored", "ignored", "ignored"]
    assert stored[1].note.startswith("no member of this brand has the customer cus_")
    _nothing_in_b(brand_b, member_b)
    # A's own events, the real ones, still work for A.
    stripe_deliver(*events)
    with schema_context(brand_a.schema_name):
        member_a.refresh_from_db()
        assert member_a.is_vip is True
    _nothing_in_b(brand_b, member_b)


def test_a_handling_queued_in_the_wrong_schema_does_nothing(fake, brand_a, brand_b, twins):
    member_a, member_b = twins
    for payload in stripe_subscribe(fake, brand=brand_a, member_id=member_a.pk):
        event, _ = stripe_event_store(payload=payload)
        with schema_context(brand_b.schema_name):
            assert stripe_event_handle(event_id=event.pk).state == "received"
    _nothing_in_b(brand_b, member_b)


def test_bs_backoffice_shows_nothing_of_as_subscribers(fake, brand_a, brand_b, twins, staff_for):
    member_a, _ = twins
    stripe_deliver(*stripe_subscribe(fake, brand=brand_a, member_id=member_a.pk, unit_amount=4242))
    with schema_context(brand_a.schema_name):
        subscription = Subscription.objects.get()
    client = staff_for(brand_b)
    listing = client.get("/backoffice/billing/subscription/").content.decode()
    assert subscription.stripe_subscription_id not in listing
    assert re.search(r">\s*0\s+subscriptions\s*<", listing)  # the list's count
    # Django's admin sends an id it does not have back to its index, saying so.
    response = client.get(f"/backoffice/billing/subscription/{subscription.pk}/change/", follow=True)
    assert response.redirect_chain and subscription.stripe_subscription_id not in response.content.decode()
    mrr = client.get("/backoffice/billing/subscription/mrr/").content.decode()
    assert "42.42" not in mrr and "No subscription has paid yet." in mrr


def test_bs_api_key_reads_nothing_of_as_subscriptions(fake, brand_a, brand_b, twins, api_b):
    member_a, _ = twins
    stripe_deliver(*stripe_subscribe(fake, brand=brand_a, member_id=member_a.pk))
    with schema_context(brand_a.schema_name):
        subscription = Subscription.objects.get()
    assert api_b.get("/api/v1/billing/subscriptions").json()["count"] == 0
    assert api_b.get(f"/api/v1/billing/subscriptions/{subscription.pk}").status_code == 404
    assert all(month["mrr"] == [] for month in api_b.get("/api/v1/billing/mrr").json())
