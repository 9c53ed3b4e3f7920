"""Stripe's events after the webhook (`billing.services.events`): routed to their brand by connected
account (an unknown one stored and ignored, logged), handled once in the brand's schema, in any
order to the same end state, a failure retried by the beat and given up after `ATTEMPTS_MAX`."""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from billing.models import Payment, Subscription, SubscriptionChange
from billing.services.events import (
    ATTEMPTS_MAX,
    RETRY_FIRST_WAIT,
    stripe_event_handle,
    stripe_event_store,
    stripe_events_due,
)
from billing.tasks import stripe_events_retry_task
from tenants.models import StripeAccount, StripeEvent
from tests.factories import member_make
from tests.support import stripe_account_of, stripe_deliver, stripe_served, stripe_subscribe

pytestmark = pytest.mark.django_db(transaction=False)

# What a subscription row says, without what differs from one subscription to another.
COMPARED = (
    "status",
    "amount",
    "currency",
    "interval",
    "cancel_at_period_end",
    "current_period_start",
    "current_period_end",
    "canceled_at",
    "ended_at",
    "state_at",
)


@pytest.fixture
def fake(db, brand_a):
    with stripe_served(brand_a) as served:
        yield served


def test_a_test_mode_event_on_the_live_platform_gives_nothing(fake, brand_a, settings):
    """Stripe sends a live endpoint its connected accounts' test mode events too: the account's
    owner could subscribe a member in test mode, for no money."""
    with schema_context(brand_a.schema_name):
        member = member_make()
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    assert {event["livemode"] for event in events} == {False}
    settings.STRIPE_SECRET_KEY = "sk_live_" + fake.api_key.removeprefix("sk_test_")
    stored = stripe_deliver(*events)
    assert {(event.state, event.note) for event in stored} == {
        ("ignored", "a test mode event on the live platform")
    }
    with schema_context(brand_a.schema_name):
        assert not Subscription.objects.exists() and not Payment.objects.exists()
        member.refresh_from_db()
        assert not member.is_vip
    # The same in live mode is handled.
    live = [{**event, "id": event["id"] + "l", "livemode": True} for event in events]
    assert {event.state for event in stripe_deliver(*live)} == {"processed"}
    with schema_context(brand_a.schema_name):
        member.refresh_from_db()
        assert member.is_vip


def test_an_event_of_an_unknown_account_is_stored_and_ignored_with_a_log_line(fake, caplog):
    event = fake.event(
        "customer.subscription.created", {"id": "sub_x", "status": "active"}, account="acct_nobody"
    )
    with caplog.at_level(logging.WARNING, logger="billing.services.events"):
        stored, created = stripe_event_store(payload=event)
    assert created is True
    assert (stored.state, stored.brand, stored.account_id) == ("ignored", None, "acct_nobody")
    assert stored.note == "no brand has the connected account acct_nobody"
    assert stored.handled_at is not None
    assert [record.getMessage() for record in caplog.records] == [
        f"stripe event {event['id']} (customer.subscription.created) ignored: "
        "no brand has the connected account acct_nobody"
    ]
    # Stored once: the replay is the same row, still ignored.
    again, created = stripe_event_store(payload=event)
    assert (again.pk, again.state, created) == (stored.pk, "ignored", False)


def test_an_event_of_no_connected_account_is_ignored(fake):
    stored, _ = stripe_event_store(payload=fake.event("payout.paid", {"id": "po_1"}, account=None))
    assert (stored.state, stored.note) == ("ignored", "not a connected account's")


def _subscription_story(fake, brand, member, *, start: int) -> list[dict]:
    """Subscribed at `start`, renewed, a payment failed, cancelled at the period's end, then
    ended: every event Stripe sends, the last two a minute apart."""
    events = stripe_subscribe(fake, brand=brand, member_id=member.pk, at=start)
    subscription_id = events[1]["data"]["object"]["id"]
    events += fake.subscription_renew(subscription_id)
    events += fake.invoice_fail(subscription_id)
    events.append(
        fake.subscription_cancel(subscription_id, at_period_end=True, at=events[-1]["created"] + 60)
    )
    events.append(
        fake.subscription_cancel(subscription_id, at_period_end=False, at=events[-1]["created"] + 60)
    )
    return events


def _row(member) -> dict:
    subscription = Subscription.objects.get(member=member)
    return {name: getattr(subscription, name) for name in COMPARED}


def _waiting_handled(brand) -> None:
    """The events left `received` (an invoice before its subscription) handled again, as the
    beat's retry does."""
    for event in StripeEvent.objects.filter(brand=brand, state="received"):
        with schema_context(brand.schema_name):
            stripe_event_handle(event_id=event.pk)


def test_events_in_any_order_end_in_the_state_of_the_latest(fake, brand_a, in_a):
    # Four months ago: every period of the story is over.
    start = int(time.time()) - 86400 * 120
    in_order, reversed_, shuffled = member_make(), member_make(), member_make()
    assert {e.state for e in stripe_deliver(*_subscription_story(fake, brand_a, in_order, start=start))} == {
        "processed"
    }
    end = _row(in_order)
    assert (end["status"], end["cancel_at_period_end"]) == ("canceled", True)
    assert end["ended_at"] is not None and end["state_at"] == end["ended_at"]

    # Reversed: the deletion first, every older state that comes after it changes nothing; the
    # invoices wait for their subscription.
    stripe_deliver(*reversed(_subscription_story(fake, brand_a, reversed_, start=start)))
    _waiting_handled(brand_a)
    story = _subscription_story(fake, brand_a, shuffled, start=start)
    random.Random(15).shuffle(story)
    stripe_deliver(*story)
    _waiting_handled(brand_a)

    assert not StripeEvent.objects.filter(brand=brand_a).exclude(state="processed").exists()
    for member in (in_order, reversed_, shuffled):
        assert _row(member) == end
        assert sorted(Payment.objects.filter(member=member).values_list("status", flat=True)) == [
            "failed",
            "paid",
            "paid",
        ]
        member.refresh_from_db()
        assert (member.is_vip, member.vip_source) == (False, "")
    # The history is the states applied: in order, the latest always the row's own.
    for member in (in_order, reversed_, shuffled):
        changes = list(SubscriptionChange.objects.filter(subscription__member=member).order_by("pk"))
        assert [change.at for change in changes] == sorted(change.at for change in changes)
        assert changes[-1].status == "canceled"
    assert [c.status for c in SubscriptionChange.objects.filter(subscription__member=in_order)] == [
        "active",
        "past_due",
        "past_due",
        "canceled",
    ]


def test_a_subscription_before_its_checkout_links_the_member_by_its_reference(fake, brand_a, in_a):
    member = member_make()
    completed, created, paid = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    [subscription_event] = stripe_deliver(created)
    assert subscription_event.state == "processed"
    assert Subscription.objects.get().member == member
    assert [e.state for e in stripe_deliver(paid, completed)] == ["processed", "processed"]
    member.refresh_from_db()
    assert (member.is_vip, member.vip_source) == (True, "subscription")


def test_an_invoice_before_its_subscription_waits_then_is_handled(fake, brand_a, in_a):
    member = member_make()
    completed, created, paid = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    [waiting] = stripe_deliver(paid)
    assert (waiting.state, waiting.attempts) == ("received", 1)
    assert waiting.note.startswith("NotYetKnown: the subscription sub_")
    assert not Payment.objects.exists()
    stripe_deliver(completed, created)
    with schema_context(brand_a.schema_name):
        handled = stripe_event_handle(event_id=waiting.pk)
    assert (handled.state, handled.attempts, handled.note) == ("processed", 2, "")
    assert Payment.objects.get().status == "paid"


def test_the_beat_retries_a_failure_with_a_growing_wait_then_gives_up(fake, brand_a, in_a):
    member = member_make()
    _, created, _ = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    created["data"]["object"]["status"] = "on_fire"  # a state this version knows nothing of
    [event] = stripe_deliver(created)
    assert (event.state, event.attempts) == ("received", 1)
    assert event.note == "ValueError: unknown subscription status 'on_fire'"
    assert not Subscription.objects.exists()

    # Due again 2 minutes after it was received, then 4, 8...
    received = event.received_at
    assert (event.pk, brand_a.schema_name) not in stripe_events_due(now=received + RETRY_FIRST_WAIT)
    for attempts in range(1, ATTEMPTS_MAX):
        now = received + RETRY_FIRST_WAIT * 2**attempts
        assert (event.pk, brand_a.schema_name) not in stripe_events_due(now=now - timedelta(seconds=1))
        assert (event.pk, brand_a.schema_name) in stripe_events_due(now=now)
        with schema_context(brand_a.schema_name):
            stripe_event_handle(event_id=event.pk)
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("failed", ATTEMPTS_MAX)
    assert event.note == "ValueError: unknown subscription status 'on_fire'"
    assert event.handled_at is not None
    assert (event.pk, brand_a.schema_name) not in stripe_events_due(now=received + timedelta(days=30))


def test_the_beat_task_handles_the_events_due_in_their_brands_schema(fake, brand_a, in_a):
    member = member_make()
    _, created, _ = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    event, _ = stripe_event_store(payload=created)  # its task lost (the broker was down)
    StripeEvent.objects.filter(pk=event.pk).update(received_at=event.received_at - RETRY_FIRST_WAIT)
    connection.set_schema_to_public()  # where beat runs
    assert stripe_events_retry_task() >= 1
    event.refresh_from_db()
    assert event.state == "processed"
    connection.set_tenant(brand_a)
    assert Subscription.objects.get().member == member


def test_an_event_is_never_handled_in_another_brands_schema(fake, brand_a, brand_b, in_a):
    member = member_make()
    _, created, _ = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    event, _ = stripe_event_store(payload=created)
    with schema_context(brand_b.schema_name):
        assert stripe_event_handle(event_id=event.pk).state == "received"
        assert not Subscription.objects.exists()
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("received", 0)


def test_account_updated_writes_the_brands_account(fake, brand_a, in_a):
    account_id = stripe_account_of(brand_a)
    StripeAccount.objects.filter(account_id=account_id).update(charges_enabled=False, details_submitted=False)
    [event] = stripe_deliver(fake.account_onboard(account_id))
    assert event.state == "processed"
    account = StripeAccount.objects.get(account_id=account_id)
    assert (account.charges_enabled, account.details_submitted) == (True, True)


def test_account_updated_about_another_account_is_refused(fake, brand_a, brand_b, in_a):
    """A signed event of brand A's account whose object is B's account never writes B's row."""
    other = fake.account_add(onboarded=False)
    StripeAccount.objects.create(brand=brand_b, account_id=other["id"])
    forged = fake.event(
        "account.updated",
        {**fake.object(other["id"]), "charges_enabled": True},
        account=stripe_account_of(brand_a),
    )
    [event] = stripe_deliver(forged)
    assert event.state == "received" and event.note.startswith("Conflict:")
    assert StripeAccount.objects.get(account_id=other["id"]).charges_enabled is False


def test_two_states_of_the_same_second_are_told_apart_by_stripes_current_one(fake, brand_a, in_a):
    """Stripe's times are in seconds: a subscription made `incomplete` and paid (`active`) in the
    same second, its events arriving the other way round, ends as Stripe has it now."""
    member = member_make()
    _, created, _ = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    incomplete = {**created, "id": "evt_incomplete_first", "data": {"object": {**created["data"]["object"]}}}
    incomplete["data"]["object"]["status"] = "incomplete"
    paid = {**created, "type": "customer.subscription.updated"}
    stripe_deliver(paid, incomplete)
    assert Subscription.objects.get(member=member).status == "active"
    subscription_id = created["data"]["object"]["id"]
    [fetch] = [r for r in fake.requests if r.method == "GET" and subscription_id in r.path]
    assert fetch.account == stripe_account_of(brand_a)
    assert [c.status for c in SubscriptionChange.objects.filter(subscription__member=member)] == ["active"]


def test_a_subscription_of_another_product_of_the_brands_account_is_ignored(fake, brand_a, in_a):
    """The brand sells other things on its Stripe account: their events name no member."""
    _, created, paid = stripe_subscribe(fake, brand=brand_a, member_id=member_make().pk)
    for event in (created, paid):
        event["data"]["object"]["metadata"] = {}
    paid["data"]["object"]["parent"]["subscription_details"]["metadata"] = {}
    stored = stripe_deliver(paid, created)
    assert [(event.state, event.attempts) for event in stored] == [("ignored", 1), ("ignored", 1)]
    assert (
        stored[1].note == f"no member of this brand has the customer {created['data']['object']['customer']}"
    )
    assert not Subscription.objects.exists()
