"""Stripe's webhook, `POST /hooks/stripe/` on the platform's domain (`billing.hooks`): signed
events shaped like Stripe's are stored once; a bad or missing signature, a body that is not an
event, a body too large are refused and store nothing; a replay is a 200 that changes nothing."""

from __future__ import annotations

import json
import time
from unittest.mock import ANY

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from billing.hooks import BODY_MAX_BYTES
from billing.models import Customer, Payment, Subscription, SubscriptionChange
from loyalty.models import Member
from tenants.models import StripeEvent
from tests.factories import member_make
from tests.support import stripe_account_of, stripe_deliver, stripe_post, stripe_served, stripe_subscribe

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def fake(db, brand_a):
    with stripe_served(brand_a) as served:
        yield served


@pytest.fixture
def nothing_stored(db):
    """The test must store no event: the count of events after it is the one before."""
    before = StripeEvent.objects.count()
    yield
    assert StripeEvent.objects.count() == before


@pytest.fixture
def platform() -> Client:
    """A client of the platform's own domain, with Django's CSRF check on, as a browser's would be."""
    return Client(HTTP_HOST="localhost", enforce_csrf_checks=True)


def _event(fake, brand, type_: str = "account.updated") -> dict:
    account = stripe_account_of(brand)
    return fake.event(type_, fake.object(account), account=account)


def test_a_signed_event_is_stored_once_with_its_brand(fake, brand_a, platform):
    event = _event(fake, brand_a)
    response = stripe_post(platform, fake, event)
    assert response.status_code == 200, response.content
    assert response.json() == {"id": event["id"], "state": "received", "replay": False}
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert (stored.type, stored.account_id, stored.brand_id) == (
        "account.updated",
        event["account"],
        brand_a.pk,
    )
    assert stored.payload == event
    assert stored.created.timestamp() == event["created"]


def _state(brand) -> tuple:
    """Every row the events wrote, the events' own included."""
    with schema_context(brand.schema_name):
        return (
            list(StripeEvent.objects.filter(brand=brand).order_by("pk").values()),
            list(Subscription.objects.values()),
            list(SubscriptionChange.objects.values()),
            list(Payment.objects.values()),
            list(Customer.objects.values()),
            list(Member.objects.values("pk", "is_vip", "vip_source", "vip_since")),
        )


def test_a_replay_is_answered_200_and_changes_nothing(fake, brand_a, platform, in_a):
    member = member_make()
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    for event in events:
        assert stripe_post(platform, fake, event).status_code == 200
    # Handled as the queued task would (a test's transaction never commits).
    stripe_deliver(*events)
    before = _state(brand_a)
    assert [row["state"] for row in before[0]] == ["processed"] * 3
    assert before[5] == [{"pk": member.pk, "is_vip": True, "vip_source": "subscription", "vip_since": ANY}]
    for event in events:
        response = stripe_post(platform, fake, event)
        assert response.status_code == 200
        assert response.json()["replay"] is True
    stripe_deliver(*events)
    assert _state(brand_a) == before


@pytest.mark.parametrize(
    "signing",
    [
        pytest.param({"secret": "whsec_not_the_endpoints"}, id="another-secret"),
        pytest.param({"timestamp": int(time.time()) - 3600}, id="too-old"),
    ],
)
def test_a_bad_signature_is_a_400_and_stores_nothing(nothing_stored, fake, brand_a, platform, signing):
    response = stripe_post(platform, fake, _event(fake, brand_a), **signing)
    assert response.status_code == 400
    assert "signature" in response.json()["error"]


def test_a_body_changed_after_signing_is_a_400(nothing_stored, fake, brand_a, platform):
    event = _event(fake, brand_a)
    signed = fake.signed(event)
    forged = signed.body.replace(event["account"].encode(), b"acct_someoneelse")
    response = platform.post(
        "/hooks/stripe/",
        data=forged,
        content_type="application/json",
        headers={"Stripe-Signature": signed.signature},
    )
    assert response.status_code == 400


def test_no_signature_is_a_400(nothing_stored, fake, brand_a, platform):
    body = json.dumps(_event(fake, brand_a))
    response = platform.post("/hooks/stripe/", data=body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param("{not json", None, id="not-json"),
        pytest.param("[1, 2]", "payload", id="not-an-object"),
        pytest.param('{"id": "ch_1", "type": "x", "created": 1, "data": {"object": {}}}', "id", id="not-evt"),
        pytest.param(
            '{"id": "evt_1", "type": "x", "created": "today", "data": {"object": {}}}', "created", id="when"
        ),
        pytest.param('{"id": "evt_1", "type": "x", "created": 1}', "data", id="no-object"),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_a_400(nothing_stored, fake, platform, body, field):
    response = stripe_post(platform, fake, body)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_a_body_over_the_bound_is_a_413(nothing_stored, fake, brand_a, platform):
    event = _event(fake, brand_a)
    event["data"]["object"]["padding"] = "x" * BODY_MAX_BYTES
    assert stripe_post(platform, fake, event).status_code == 413


def test_only_post_on_the_platform_domain(nothing_stored, fake, brand_a, platform, client_for):
    assert platform.get("/hooks/stripe/").status_code == 405
    # A brand's host has no such endpoint: Stripe's events reach the platform only.
    assert stripe_post(client_for(brand_a), fake, _event(fake, brand_a)).status_code == 404


def test_without_a_webhook_secret_everything_is_refused(nothing_stored, fake, brand_a, platform, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert stripe_post(platform, fake, _event(fake, brand_a)).status_code == 400
