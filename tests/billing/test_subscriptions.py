"""What Stripe's subscription and invoice events do to a brand's members
(`billing.services.subscriptions`): VIP while the subscription lives, kept after a cancellation
until the period paid for ends, one `payment_failed` message per invoice with the link to manage
the subscription, one payment per invoice."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from billing.models import Customer, Payment, Subscription, SubscriptionChange
from billing.services.plans import amount_to_minor
from billing.services.subscriptions import amount_from_minor, subscriptions_period_end_refresh
from billing.tasks import subscriptions_period_end_all_task
from loyalty.models import Member
from loyalty.services.members import consent_set
from messaging.models import Message
from messaging.selectors.variables import site_url
from messaging.triggers import trigger_put
from tests.conftest import host_of
from tests.factories import member_make, template_make
from tests.support import stripe_deliver, stripe_served, stripe_subscribe

pytestmark = pytest.mark.django_db(transaction=False)
DAY = 86400


@pytest.fixture
def fake(db, brand_a):
    with stripe_served(brand_a) as served:
        yield served


def _vip(member: Member) -> tuple[bool, str]:
    member.refresh_from_db()
    return member.is_vip, member.vip_source


def _period_end(subscription_event: dict) -> datetime:
    return datetime.fromtimestamp(subscription_event["data"]["object"]["current_period_end"], UTC)


def test_a_checkout_makes_a_vip_subscriber_with_a_customer_a_history_and_a_payment(fake, brand_a, in_a):
    member = member_make()
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk, unit_amount=1990, interval="year")
    stripe_deliver(*events)
    assert Customer.objects.get(member=member).stripe_customer_id == events[0]["data"]["object"]["customer"]
    subscription = Subscription.objects.get(member=member)
    assert (subscription.status, subscription.amount, subscription.currency, subscription.interval) == (
        "active",
        Decimal("19.90"),
        "EUR",
        "year",
    )
    assert subscription.current_period_end == _period_end(events[1])
    assert subscription.sandbox is False
    [change] = SubscriptionChange.objects.filter(subscription=subscription)
    assert (change.status_before, change.status, change.stripe_event_id) == ("", "active", events[1]["id"])
    [payment] = Payment.objects.filter(member=member)
    assert (payment.status, payment.amount, payment.subscription) == ("paid", Decimal("19.90"), subscription)
    assert _vip(member) == (True, "subscription")


def test_another_product_the_vip_member_buys_gives_no_vip(fake, brand_a, in_a):
    """The member's customer on the brand's account also subscribes to something else the brand
    sells there (not through /vip/): that subscription is none of VIP's, it outlives nothing."""
    member = member_make()
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    stripe_deliver(*events)
    vip = events[1]["data"]["object"]
    other = copy.deepcopy(events[1])
    other["id"] += "other"
    other["data"]["object"].update(id="sub_magazine", metadata={})
    other["data"]["object"]["items"]["data"][0]["price"].update(id="price_magazine", product="prod_magazine")
    [stored] = stripe_deliver(other)
    assert stored.state == "ignored" and "none of this brand's VIP plans" in stored.note
    # Its invoices are ignored too, not retried for hours waiting for it.
    invoice = copy.deepcopy(events[2])
    invoice["id"] += "other"
    invoice["data"]["object"].update(id="in_magazine", subscription="sub_magazine", parent=None)
    [stored] = stripe_deliver(invoice)
    assert stored.state == "ignored" and stored.attempts == 1
    assert not Payment.objects.filter(stripe_invoice_id="in_magazine").exists()
    assert list(Subscription.objects.values_list("stripe_subscription_id", flat=True)) == [vip["id"]]
    ended = copy.deepcopy(events[1])
    ended.update(id=ended["id"] + "end", type="customer.subscription.deleted", created=ended["created"] + 60)
    past = int(time.time()) - 1
    ended["data"]["object"].update(status="canceled", ended_at=past, current_period_end=past)
    stripe_deliver(ended)
    assert _vip(member) == (False, "")


def test_a_trial_gives_vip_and_pays_nothing_yet(fake, brand_a, in_a):
    member = member_make()
    stripe_deliver(*stripe_subscribe(fake, brand=brand_a, member_id=member.pk, trial_days=14))
    assert Subscription.objects.get(member=member).status == "trialing"
    assert Payment.objects.get(member=member).amount == Decimal("0.00")
    assert _vip(member) == (True, "subscription")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (990, "eur", Decimal("9.90")),
        (1000, "JPY", Decimal("1000")),
        (5, "usd", Decimal("0.05")),
        (12500, "kwd", Decimal("12.50")),
    ],
)
def test_stripe_amounts_in_minor_units(amount, currency, expected):
    assert amount_from_minor(amount=amount, currency=currency) == expected
    assert amount_to_minor(amount=expected, currency=currency) == amount


def _payment_failed_on(member: Member) -> None:
    template_make(
        "payment-failed", body="Your payment failed, {{ first_name }}: {{ portal_url }}", purpose="service"
    )
    trigger_put(
        kind="payment_failed", channel="sms", data={"template_code": "payment-failed", "is_active": True}
    )
    consent_set(member=member, consents={"sms": True}, source="test")


def test_a_failed_payment_sends_one_message_with_the_portal_link(fake, brand_a, in_a):
    member = member_make(first_name="Camille", phone="+33612345678", language="en")
    _payment_failed_on(member)
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    subscription_id = events[1]["data"]["object"]["id"]
    stripe_deliver(*events)
    failed, past_due = fake.invoice_fail(subscription_id)
    stripe_deliver(failed, past_due)
    # Stripe tries the invoice again days later: another event, the same invoice; and a replay.
    invoice = failed["data"]["object"]
    retried = fake.event("invoice.payment_failed", {**invoice, "attempt_count": 2}, account=failed["account"])
    stripe_deliver(retried, failed)
    [message] = Message.objects.filter(member=member, trigger="payment_failed")
    assert message.body == f"Your payment failed, Camille: {site_url()}vip/"
    assert site_url().startswith(f"http://{host_of(brand_a)}")
    [payment] = Payment.objects.filter(stripe_invoice_id=invoice["id"])
    assert (payment.status, payment.amount) == ("failed", Decimal("9.90"))
    # Still VIP: Stripe retries a past_due subscription.
    assert Subscription.objects.get(member=member).status == "past_due"
    assert _vip(member) == (True, "subscription")

    # The retry succeeds: the same payment, paid; a failure arriving late changes nothing.
    paid = fake.event(
        "invoice.paid",
        {**invoice, "amount_paid": invoice["amount_due"], "status": "paid", "paid": True},
        account=failed["account"],
    )
    late = fake.event("invoice.payment_failed", invoice, account=failed["account"])
    stripe_deliver(paid, late)
    [payment] = Payment.objects.filter(stripe_invoice_id=invoice["id"])
    assert payment.status == "paid"
    assert Message.objects.filter(member=member, trigger="payment_failed").count() == 1


def test_each_failed_invoice_sends_its_own_message(fake, brand_a, in_a):
    member = member_make(phone="+33612345679", language="en")
    _payment_failed_on(member)
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    stripe_deliver(*events)
    subscription_id = events[1]["data"]["object"]["id"]
    stripe_deliver(*fake.invoice_fail(subscription_id))
    stripe_deliver(*fake.invoice_fail(subscription_id))
    assert Message.objects.filter(member=member, trigger="payment_failed").count() == 2


def test_a_failed_invoice_of_no_subscription_is_not_vips(fake, brand_a, in_a):
    """A one-off invoice the brand sends the member's customer: no payment of VIP, no message."""
    member = member_make(phone="+33612345670", language="en")
    _payment_failed_on(member)
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk)
    stripe_deliver(*events)
    [failed, _] = fake.invoice_fail(events[1]["data"]["object"]["id"])
    invoice = copy.deepcopy(failed["data"]["object"])
    invoice.update(id="in_oneoff", subscription=None, parent=None, billing_reason="manual")
    [stored] = stripe_deliver(fake.event("invoice.payment_failed", invoice, account=failed["account"]))
    assert stored.state == "ignored" and "of no subscription" in stored.note
    assert not Payment.objects.filter(stripe_invoice_id="in_oneoff").exists()
    assert not Message.objects.filter(member=member, trigger="payment_failed").exists()


def test_a_cancellation_at_the_period_end_keeps_vip_until_it_ends(fake, brand_a, in_a):
    member = member_make()
    start = int(time.time()) - 20 * DAY
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk, at=start)
    stripe_deliver(*events)
    end = _period_end(events[1])
    subscription_id = events[1]["data"]["object"]["id"]
    stripe_deliver(fake.subscription_cancel(subscription_id, at_period_end=True, at=int(time.time()) - DAY))
    subscription = Subscription.objects.get(member=member)
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    assert _vip(member) == (True, "subscription")
    assert subscriptions_period_end_refresh(now=end - timedelta(seconds=1)) == 0
    assert _vip(member) == (True, "subscription")

    # At the period's end Stripe ends it: VIP ends with it.
    with time_machine.travel(end + timedelta(seconds=5), tick=False):
        stripe_deliver(
            fake.subscription_cancel(subscription_id, at_period_end=False, at=int(end.timestamp()))
        )
    subscription.refresh_from_db()
    assert (subscription.status, subscription.ended_at) == ("canceled", end)
    assert _vip(member) == (False, "")


def test_a_cancellation_now_keeps_vip_until_the_period_paid_for_ends(fake, brand_a, in_a):
    member = member_make()
    events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk, at=int(time.time()) - 20 * DAY)
    stripe_deliver(*events)
    end = _period_end(events[1])
    stripe_deliver(fake.subscription_cancel(events[1]["data"]["object"]["id"], at_period_end=False))
    assert Subscription.objects.get(member=member).status == "canceled"
    assert _vip(member) == (True, "subscription")
    assert subscriptions_period_end_refresh(now=end - timedelta(seconds=1)) == 0
    assert _vip(member) == (True, "subscription")
    # The beat, just after the end: VIP ends, once.
    with time_machine.travel(end + timedelta(seconds=1), tick=False):
        assert subscriptions_period_end_all_task() >= 1
        assert subscriptions_period_end_refresh() == 0
    assert _vip(member) == (False, "")
    member.refresh_from_db()
    assert member.vip_since is None


def test_a_subscription_of_another_member_is_refused(fake, brand_a, in_a):
    """A customer already linked to one member is never moved to another by a checkout session."""
    first, second = member_make(), member_make()
    events = stripe_subscribe(fake, brand=brand_a, member_id=first.pk)
    stripe_deliver(*events)
    session = events[0]["data"]["object"]
    stolen = fake.event(
        "checkout.session.completed",
        {
            **session,
            "client_reference_id": str(second.pk),
            "metadata": {**session["metadata"], "member_id": str(second.pk)},
        },
        account=events[0]["account"],
    )
    [event] = stripe_deliver(stolen)
    assert event.state == "received" and event.note.startswith("Conflict:")
    assert Customer.objects.get(stripe_customer_id=session["customer"]).member == first
    assert _vip(second) == (False, "")
