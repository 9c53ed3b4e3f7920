"""Each kind of ledger entry said in words (`loyalty.selectors.explanations`), as the backoffice
member page shows it: earned by a rule, taken back by a refund, expired, adjusted, spent on an
order, given back when the order is cancelled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from catalog.services import RedeemItem, order_cancel, order_place
from loyalty.models import LedgerEntry
from loyalty.rule_examples import POINT_PER_EURO
from loyalty.selectors.explanations import entry_in_words
from loyalty.services.expiry import points_expire_due
from loyalty.services.ledger import points_adjust
from loyalty.services.rules import rule_create
from tests.catalog.factories import gift_make
from tests.conftest import TEST_PASSWORD
from tests.factories import credit_make, member_make

PURCHASE = {
    "member": "W-1",
    "type": "purchase",
    "occurred_at": "2026-03-02T10:15:00+01:00",
    "attributes": {"amount": "42.50", "currency": "EUR"},
}


@pytest.fixture
def words(in_a):
    """The words of the member's entries of one kind, oldest first (in brand A, where the API's
    requests left the connection)."""

    def of(member, kind: str) -> list[str]:
        connection.set_tenant(in_a)
        entries = LedgerEntry.objects.filter(member=member, kind=kind).select_related(
            "rule", "event", "staff_user"
        )
        return [entry_in_words(entry=entry) for entry in entries.order_by("id")]

    return of


@pytest.fixture
def member(in_a):
    rule_create(data={**POINT_PER_EURO, "conditions": [{"field": "amount", "op": "gte", "value": 10}]})
    return member_make("W-1")


def test_an_earning_says_the_event_the_rule_its_conditions_and_the_computation(api_a, member, words):
    assert api_a.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "order-7"}).status_code == 201
    (words,) = words(member, LedgerEntry.Kind.EARN)
    assert words.startswith("Earned 42 points on purchase order-7 by rule “1 point per euro”: ")
    assert "because amount is at least 10 (it was 42.5)" in words
    assert "1 per EUR on 42.5 EUR" in words and "rounded down to 42" in words
    assert "{" not in words


def test_a_refund_says_what_it_took_back_and_why_not_more(api_a, member, words):
    api_a.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "order-8"})
    refund = {**PURCHASE, "type": "refund", "attributes": {"original_event": "order-8"}}
    assert api_a.post("/api/v1/events", refund, headers={"Idempotency-Key": "refund-8"}).status_code == 201
    (words,) = words(member, LedgerEntry.Kind.REVERSE)
    assert words.startswith("Took back 42 points on refund refund-8: refund of event order-8")
    assert "what rule “1 point per euro” gave" in words and "all 42 points it earned" in words


def test_an_expiry_says_the_points_lost_and_why(member, words):
    past = timezone.now() - timedelta(days=400)
    credit_make(member, 30, at=past, expires_at=past + timedelta(days=1))
    points_expire_due(at=timezone.now())
    assert words(member, LedgerEntry.Kind.EXPIRE) == [
        "30 points expired: points past their expiry date; from 1 lot."
    ]


def test_an_adjustment_says_who_and_why(api_a, member, words):
    staff = get_user_model().objects.create_user(username="olga", password=TEST_PASSWORD, is_staff=True)
    points_adjust(member_id=member.pk, points=15, reason="goodwill", staff_user_id=staff.pk)
    api_a.post("/api/v1/members/W-1/adjustments", {"points": -5, "reason": "duplicate trip"})
    assert words(member, LedgerEntry.Kind.ADJUST) == [
        "Added 15 points by olga: goodwill.",
        "Took 5 points: duplicate trip.",
    ]


def test_a_redemption_and_its_cancellation_say_the_order(member, words):
    credit_make(member, 500)
    gift = gift_make(name="Cinema ticket", points_price=100, codes=["C-1", "C-2"])
    order, _ = order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk, quantity=2)],
        idempotency_key="o-9",
        actor="test",
    )
    order_cancel(order_id=order.pk, actor="test", note="out of print")
    assert words(member, LedgerEntry.Kind.REDEEM) == [f"Spent 200 points on order {order.pk}: 2 gifts."]
    assert words(member, LedgerEntry.Kind.REVERSE) == [
        f"Gave back 200 points: Order {order.pk} cancelled: out of print."
    ]
