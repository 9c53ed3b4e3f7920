"""A member's VIP status (`billing.services.vip`): each source, their precedence, `vip_since` kept
while the member stays VIP, the welcome message once, and a cancellation that keeps VIP until the
end of the period paid for."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Subscription
from billing.services.vip import member_vip_refresh, vip_grant_set, vips_refresh_drifted
from loyalty.models import ActivityEvent, Member, ProgrammeSettings, Tier
from loyalty.services.members import consent_set, member_anonymise
from messaging.models import Message
from messaging.triggers import trigger_put
from tests.factories import member_make, template_make

pytestmark = pytest.mark.django_db(transaction=False)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
_keys = itertools.count()


def _subscription(member: Member, status: str, **extra) -> Subscription:
    number = next(_keys)
    return Subscription.objects.create(
        member=member,
        stripe_subscription_id=f"sub_{number}",
        stripe_customer_id=f"cus_{number}",
        status=status,
        amount=Decimal("9.90"),
        current_period_start=NOW - timedelta(days=10),
        current_period_end=extra.pop("current_period_end", NOW + timedelta(days=20)),
        state_at=NOW,
        **extra,
    )


def _purchase(member: Member, amount: str, at: datetime) -> ActivityEvent:
    return ActivityEvent.objects.create(
        idempotency_key=f"p-{next(_keys)}",
        member=member,
        type="purchase",
        occurred_at=at,
        amount=Decimal(amount),
        currency="EUR",
    )


def _spend_rule(amount: str | None, months: int = 9) -> None:
    ProgrammeSettings.objects.filter(id=1).update(
        currency="EUR", vip_spend_amount=amount, vip_spend_months=months
    )


def _vip(member: Member) -> tuple[bool, str, datetime | None]:
    member.refresh_from_db()
    return member.is_vip, member.vip_source, member.vip_since


@pytest.mark.parametrize("status", ["trialing", "active", "past_due"])
def test_a_live_subscription_gives_vip(in_a, status):
    member = member_make()
    _subscription(member, status)
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (True, "subscription", NOW)


@pytest.mark.parametrize("status", ["incomplete", "incomplete_expired", "unpaid", "paused"])
def test_a_subscription_that_is_not_live_gives_nothing(in_a, status):
    member = member_make()
    _subscription(member, status)
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (False, "", None)


def test_a_cancellation_keeps_vip_until_the_period_ends(in_a):
    member = member_make()
    subscription = _subscription(member, "active")
    member_vip_refresh(member=member, now=NOW)
    Subscription.objects.filter(pk=subscription.pk).update(status="canceled", canceled_at=NOW)
    member_vip_refresh(member=member, now=NOW + timedelta(days=5))
    assert _vip(member) == (True, "subscription", NOW)
    member_vip_refresh(member=member, now=NOW + timedelta(days=21))
    assert _vip(member) == (False, "", None)


def test_a_tier_that_grants_vip(in_a):
    gold = Tier.objects.create(code="gold", name="Gold", threshold=100, grants_vip=True)
    silver = Tier.objects.create(code="silver", name="Silver", threshold=10)
    member = member_make()
    Member.objects.filter(pk=member.pk).update(tier=silver)
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (False, "", None)
    Member.objects.filter(pk=member.pk).update(tier=gold)
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (True, "tier", NOW)


def test_the_spend_rule_over_its_rolling_window(in_a):
    """1,000 EUR over the last 9 months, measured as tiers measure amount spent: refunded
    purchases and other currencies left out."""
    _spend_rule("1000", months=9)
    member = member_make()
    _purchase(member, "600", NOW - timedelta(days=200))
    _purchase(member, "300", NOW - timedelta(days=30))
    refunded = _purchase(member, "500", NOW - timedelta(days=20))
    ActivityEvent.objects.filter(pk=refunded.pk).update(reversed_at=NOW - timedelta(days=19))
    ActivityEvent.objects.filter(pk=_purchase(member, "500", NOW).pk).update(currency="USD")
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (False, "", None)
    _purchase(member, "100", NOW - timedelta(days=1))
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (True, "spend", NOW)
    # The 600 EUR leave the window after 9 months: the nightly refresh ends the spend VIP.
    later = NOW + timedelta(days=80)
    assert vips_refresh_drifted(now=later) == 1
    assert _vip(member) == (False, "", None)


def test_no_spend_rule_no_spend_vip(in_a):
    _spend_rule(None)
    member = member_make()
    _purchase(member, "100000", NOW - timedelta(days=1))
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (False, "", None)


def test_precedence_and_since_kept_while_vip(in_a):
    """Manual, then subscription, then tier, then spend; `vip_since` stays while the member stays
    VIP, whatever source holds them."""
    _spend_rule("50")
    gold = Tier.objects.create(code="gold", name="Gold", threshold=100, grants_vip=True)
    member = member_make()
    _purchase(member, "60", NOW - timedelta(days=1))
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (True, "spend", NOW)
    Member.objects.filter(pk=member.pk).update(tier=gold)
    member_vip_refresh(member=member, now=NOW + timedelta(days=1))
    assert _vip(member) == (True, "tier", NOW)
    subscription = _subscription(member, "active")
    member_vip_refresh(member=member, now=NOW + timedelta(days=2))
    assert _vip(member) == (True, "subscription", NOW)
    vip_grant_set(member=member, granted=True, now=NOW + timedelta(days=3))
    assert _vip(member) == (True, "manual", NOW)
    # The grant withdrawn: the subscription still holds, since the same date.
    vip_grant_set(member=member, granted=False, now=NOW + timedelta(days=4))
    assert _vip(member) == (True, "subscription", NOW)
    Subscription.objects.filter(pk=subscription.pk).update(status="unpaid")
    Member.objects.filter(pk=member.pk).update(tier=None)
    member_vip_refresh(member=member, now=NOW + timedelta(days=5))
    assert _vip(member) == (True, "spend", NOW)
    _spend_rule(None)
    member_vip_refresh(member=member, now=NOW + timedelta(days=6))
    assert _vip(member) == (False, "", None)


def test_staff_grant_through_the_member_service(in_a):
    member = member_make(is_vip=True)
    assert _vip(member)[:2] == (True, "manual")
    member_make(member.external_id, is_vip=False)
    assert _vip(member) == (False, "", None)


def test_the_database_refuses_a_status_without_its_source(in_a):
    from django.db import IntegrityError, transaction

    member = member_make()
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(is_vip=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(vip_source="tier", vip_since=NOW)


def test_the_welcome_message_once(in_a, django_capture_on_commit_callbacks):
    template_make("vip-welcome", body="Welcome to VIP, {{ first_name }}", purpose="service")
    trigger_put(kind="vip_welcome", channel="sms", data={"template_code": "vip-welcome", "is_active": True})
    member = member_make(first_name="Camille", phone="+33612345678", language="en")
    consent_set(member=member, consents={"sms": True}, source="test")
    subscription = _subscription(member, "active")
    with django_capture_on_commit_callbacks(execute=True):
        member_vip_refresh(member=member, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        member_vip_refresh(member=member, now=NOW)  # still VIP: no second welcome
        vip_grant_set(member=member, granted=True, now=NOW)  # another source: still VIP
    (message,) = Message.objects.filter(member=member, trigger="vip_welcome")
    assert message.body == "Welcome to VIP, Camille"
    # Out and back in on the same day: the same dedupe key, still one message.
    Subscription.objects.filter(pk=subscription.pk).update(status="unpaid")
    vip_grant_set(member=member, granted=False, now=NOW)
    assert _vip(member)[0] is False
    with django_capture_on_commit_callbacks(execute=True):
        member_vip_refresh(member=member, now=NOW.replace(hour=13))
        Subscription.objects.filter(pk=subscription.pk).update(status="active")
        member_vip_refresh(member=member, now=NOW.replace(hour=14))
    assert Message.objects.filter(member=member, trigger="vip_welcome").count() == 1


def test_an_anonymised_member_is_vip_no_more_and_stays_so(in_a):
    member = member_make()
    _subscription(member, "active")
    member_vip_refresh(member=member, now=NOW)
    member_anonymise(member=member, by=None, reason="asked to be forgotten")
    assert _vip(member) == (False, "", None)
    member_vip_refresh(member=member, now=NOW)
    assert _vip(member) == (False, "", None)
    assert vips_refresh_drifted(now=NOW) == 0
