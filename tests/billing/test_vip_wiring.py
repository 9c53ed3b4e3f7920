"""VIP re-decided where its sources move: a tier that grants VIP reached by an event (loyalty's
`tiers_changed`), the spend rule crossed by a purchase and left by its refund (`points_changed`),
and the nightly task of each brand (the spend window that slides)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.tasks_vip import vip_brand_nightly_task
from loyalty.models import ActivityEvent, Member, ProgrammeSettings, Tier
from loyalty.services.events import EventInput, event_record
from loyalty.services.rules import rule_create
from tests.factories import member_make

pytestmark = pytest.mark.django_db(transaction=False)
PER_EURO = {"name": "per euro", "event_type": "purchase", "award_type": "per_amount", "points_per_unit": "1"}


def _purchase(member: Member, key: str, amount: str, *, days_ago: int = 0) -> EventInput:
    return EventInput(
        member=member.external_id,
        type="purchase",
        occurred_at=timezone.now() - timedelta(days=days_ago, minutes=1),
        attributes={"amount": amount, "currency": "EUR"},
        idempotency_key=key,
    )


def _committed(capture, work) -> None:
    """`work`, then what waited for its commit (the signals' sends), as a real commit runs it."""
    with capture(execute=True):
        work()


def _vip(member: Member) -> tuple[bool, str]:
    member.refresh_from_db()
    return member.is_vip, member.vip_source


def test_a_tier_that_grants_vip_reached_by_an_event(in_a, django_capture_on_commit_callbacks):
    ProgrammeSettings.objects.filter(id=1).update(tier_metric="points_earned", tier_window="lifetime")
    Tier.objects.create(code="gold", name="Gold", threshold=Decimal("100"), grants_vip=True)
    rule_create(data=PER_EURO)
    member = member_make()
    _committed(django_capture_on_commit_callbacks, lambda: event_record(data=_purchase(member, "t-1", "50")))
    assert _vip(member) == (False, "")
    _committed(django_capture_on_commit_callbacks, lambda: event_record(data=_purchase(member, "t-2", "60")))
    assert _vip(member) == (True, "tier")


def test_a_tier_without_the_flag_gives_nothing(in_a, django_capture_on_commit_callbacks):
    ProgrammeSettings.objects.filter(id=1).update(tier_metric="points_earned", tier_window="lifetime")
    Tier.objects.create(code="gold", name="Gold", threshold=Decimal("100"))
    rule_create(data=PER_EURO)
    member = member_make()
    _committed(django_capture_on_commit_callbacks, lambda: event_record(data=_purchase(member, "n-1", "150")))
    member.refresh_from_db()
    assert member.tier.code == "gold" and _vip(member) == (False, "")


def test_the_spend_rule_crossed_by_a_purchase(in_a, django_capture_on_commit_callbacks):
    ProgrammeSettings.objects.filter(id=1).update(currency="EUR", vip_spend_amount="1000", vip_spend_months=9)
    rule_create(data=PER_EURO)
    member = member_make()
    _committed(django_capture_on_commit_callbacks, lambda: event_record(data=_purchase(member, "s-1", "700")))
    assert _vip(member) == (False, "")
    _committed(django_capture_on_commit_callbacks, lambda: event_record(data=_purchase(member, "s-2", "400")))
    assert _vip(member) == (True, "spend")


def test_the_nightly_task_ends_what_the_window_left(in_a):
    ProgrammeSettings.objects.filter(id=1).update(currency="EUR", vip_spend_amount="100", vip_spend_months=1)
    member = member_make()
    ActivityEvent.objects.create(
        idempotency_key="old",
        member=member,
        type="purchase",
        occurred_at=timezone.now() - timedelta(days=40),
        amount=Decimal("500"),
        currency="EUR",
    )
    now = timezone.now()
    since = now - timedelta(days=39)
    Member.objects.filter(pk=member.pk).update(is_vip=True, vip_source="spend", vip_since=since)
    fresh = member_make()
    ActivityEvent.objects.create(
        idempotency_key="new",
        member=fresh,
        type="purchase",
        occurred_at=now - timedelta(days=2),
        amount=Decimal("150"),
        currency="EUR",
    )
    assert vip_brand_nightly_task(force=True)["vip_changes"] == 2
    assert _vip(member) == (False, "") and _vip(fresh) == (True, "spend")
    assert vip_brand_nightly_task(force=True)["vip_changes"] == 0
