"""The loyalty change signals (`loyalty.signals`) sent by the real services: once per committed
transaction (per savepoint level), with the list of what changed, and nothing for what a savepoint
rolled back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from catalog.services import RedeemItem, ShippingAddress, order_cancel, order_place
from loyalty.models import LedgerEntry, ProgrammeSettings, Tier
from loyalty.services.events import EventInput, event_record, events_record_batch
from loyalty.services.expiry import points_expire_due
from loyalty.services.ledger import points_adjust
from loyalty.services.members import member_block, member_upsert
from loyalty.services.rules import rule_create
from loyalty.services.tiers import tiers_evaluate_all
from loyalty.signals import (
    MemberChange,
    PointsChange,
    TierChange,
    changes_send,
    members_changed,
    points_changed,
    tiers_changed,
)
from tests.catalog.factories import ADDRESS, gift_make
from tests.factories import credit_make, member_make

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def sent():
    """Every send of the three signals, as (signal name, changes, schema), while the test runs."""
    calls: list[tuple[str, list, str]] = []
    receivers = {}
    for name, signal in (("points", points_changed), ("tiers", tiers_changed), ("members", members_changed)):

        def receiver(sender, changes, name=name, **kwargs):
            calls.append((name, list(changes), connection.schema_name))

        receivers[name] = (signal, receiver)
        signal.connect(receiver, weak=False, dispatch_uid=f"test-{name}")
    yield calls
    for name, (signal, _receiver) in receivers.items():
        signal.disconnect(dispatch_uid=f"test-{name}")


def _of(calls, name):
    return [changes for signal, changes, _ in calls if signal == name]


def _event(member: str, key: str, amount: str = "10.00") -> EventInput:
    return EventInput(
        member=member,
        type="purchase",
        occurred_at=timezone.now() - timedelta(minutes=1),
        attributes={"amount": amount, "currency": "EUR"},
        idempotency_key=key,
    )


def test_an_event_sends_its_earned_points_after_commit_in_the_brand(
    in_a, sent, django_capture_on_commit_callbacks
):
    rule_create(
        data={
            "name": "per euro",
            "event_type": "purchase",
            "award_type": "per_amount",
            "points_per_unit": "1",
        }
    )
    member = member_make("earner")
    with django_capture_on_commit_callbacks(execute=False) as hooks:
        event_record(data=_event("earner", "e-1", "12.00"))
    assert _of(sent, "points") == []  # nothing before the commit
    for hook in hooks:
        hook()
    entry = LedgerEntry.objects.get(member=member, kind="earn")
    (changes,) = _of(sent, "points")
    assert changes == [
        PointsChange(
            member_id=member.pk,
            kind="earned",
            points=12,
            balance_after=12,
            ledger_entry_id=entry.pk,
            event_id=entry.event_id,
        )
    ]
    assert {schema for _, _, schema in sent} == {in_a.schema_name}


def test_a_batch_sends_one_list_for_every_member_that_earned(in_a, sent, django_capture_on_commit_callbacks):
    rule_create(
        data={
            "name": "per euro",
            "event_type": "purchase",
            "award_type": "per_amount",
            "points_per_unit": "1",
        }
    )
    ann, bob = member_make("ann"), member_make("bob")
    with django_capture_on_commit_callbacks(execute=True):
        events_record_batch(
            items=[_event("ann", "b-1", "5.00"), _event("bob", "b-2", "7.00"), _event("ann", "b-3", "3.00")]
        )
    (changes,) = _of(sent, "points")
    assert sorted((c.member_id, c.points, c.balance_after) for c in changes) == [
        (ann.pk, 3, 8),
        (ann.pk, 5, 5),
        (bob.pk, 7, 7),
    ]
    assert {c.kind for c in changes} == {"earned"}


def test_adjustments_redemptions_cancellations_refunds_and_expiry(
    in_a, sent, django_capture_on_commit_callbacks
):
    rule_create(
        data={
            "name": "per euro",
            "event_type": "purchase",
            "award_type": "per_amount",
            "points_per_unit": "1",
        }
    )
    member = member_make("shopper")
    with django_capture_on_commit_callbacks(execute=True):
        event_record(data=_event("shopper", "buy", "50.00"))
        points_adjust(member_id=member.pk, points=500, reason="goodwill", staff_user_id=None)
        points_adjust(member_id=member.pk, points=-20, reason="typo", staff_user_id=None)
        gift = gift_make(points_price=100, stock=5)
        order, _ = order_place(
            member_id=member.pk,
            items=[RedeemItem(gift_id=gift.pk, quantity=1)],
            shipping=ShippingAddress(**ADDRESS),
            idempotency_key="o-1",
            actor="member",
        )
        order_cancel(order_id=order.pk, actor="staff:1")
        event_record(
            data=EventInput(
                member="shopper",
                type="refund",
                occurred_at=timezone.now(),
                attributes={"original_event": "buy"},
                idempotency_key="refund-1",
            )
        )
    kinds = [(c.kind, c.points, c.balance_after) for changes in _of(sent, "points") for c in changes]
    assert kinds == [
        ("earned", 50, 50),
        ("adjusted", 500, 550),
        ("adjusted", -20, 530),
        ("redeemed", -100, 430),
        ("reversed", 100, 530),
        ("reversed", -50, 480),
    ]

    sent.clear()
    now = timezone.now()
    other = member_make("late")
    credit_make(other, 30, at=now - timedelta(days=40), expires_at=now - timedelta(days=1))
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert points_expire_due(at=now) == 30
    (changes,) = _of(sent, "points")
    expired = LedgerEntry.objects.get(member=other, kind="expire")
    assert changes == [
        PointsChange(
            member_id=other.pk, kind="expired", points=-30, balance_after=0, ledger_entry_id=expired.pk
        )
    ]


def test_tier_changes_are_sent_from_events_and_the_nightly_run(
    in_a, sent, django_capture_on_commit_callbacks
):
    ProgrammeSettings.objects.filter(id=1).update(tier_metric="points_earned", tier_window="lifetime")
    gold = Tier.objects.create(code="gold", name="Gold", threshold=Decimal("100"))
    rule_create(
        data={
            "name": "per euro",
            "event_type": "purchase",
            "award_type": "per_amount",
            "points_per_unit": "1",
        }
    )
    member = member_make("climber")
    with django_capture_on_commit_callbacks(execute=True):
        event_record(data=_event("climber", "t-1", "150.00"))
    assert _of(sent, "tiers") == [[TierChange(member_id=member.pk, from_tier_id=None, to_tier_id=gold.pk)]]

    sent.clear()
    Tier.objects.filter(pk=gold.pk).update(threshold=Decimal("1000"))
    with django_capture_on_commit_callbacks(execute=True):
        assert tiers_evaluate_all(at=timezone.now()) == 1
    assert _of(sent, "tiers") == [[TierChange(member_id=member.pk, from_tier_id=gold.pk, to_tier_id=None)]]


def test_members_created_and_updated(in_a, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        member, _ = member_upsert(external_id="new-one", data={"first_name": "Ada"})
        member_upsert(external_id="new-one", data={"first_name": "Ada B."})
        member_block(member=member, by=None, reason="fraud")
    assert _of(sent, "members") == [
        [MemberChange(member_id=member.pk, created=True)],
        [MemberChange(member_id=member.pk, created=False)],
        [MemberChange(member_id=member.pk, created=False)],
    ]


def test_what_a_savepoint_rolled_back_is_not_sent(in_a, sent, django_capture_on_commit_callbacks):
    member = member_make("kept")
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            credit_make(member, 10)
            try:
                with transaction.atomic():
                    credit_make(member, 20)
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass
            credit_make(member, 30)
    points = [c.points for changes in _of(sent, "points") for c in changes]
    assert points == [10, 30]


def test_nothing_is_built_when_nothing_listens(in_a):
    def changes():
        raise AssertionError("read although nobody listens")
        yield

    saved = points_changed.receivers
    points_changed.receivers = []
    try:
        changes_send(points_changed, changes())
    finally:
        points_changed.receivers = saved


def test_a_failing_receiver_is_logged_and_the_write_stands(in_a, caplog, django_capture_on_commit_callbacks):
    def broken(sender, changes, **kwargs):
        raise RuntimeError("receiver down")

    members_changed.connect(broken, weak=False, dispatch_uid="test-broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            member, created = member_upsert(external_id="still-here", data={})
    finally:
        members_changed.disconnect(dispatch_uid="test-broken")
    assert created and member.pk
    assert any("failed on 1 changes" in record.getMessage() for record in caplog.records)
