"""The order state machine: placed → confirmed → shipped → delivered, cancellation, history."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Gift, Order
from catalog.services import (
    OrderTransitionError,
    RedeemItem,
    ShippingAddress,
    order_cancel,
    order_place,
    order_status_set,
)
from core.errors import InvalidInput, NotFound
from loyalty.models import LedgerEntry, PointLot
from loyalty.services.ledger import ledger_sum
from tests.factories import member_make

from .factories import ADDRESS, gift_make

pytestmark = pytest.mark.django_db


def physical_order(member=None, gift=None, quantity=1):
    member = member or member_make(points=1000)
    gift = gift or gift_make(points_price=100, stock=10)
    order, _ = order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk, quantity=quantity)],
        shipping=ShippingAddress(**ADDRESS),
        idempotency_key="k",
        actor="member",
    )
    return order


def test_physical_order_goes_through_every_status_with_history(in_brand):
    order = physical_order()

    order_status_set(order_id=order.pk, status="confirmed", actor="staff:1", note="checked")
    with pytest.raises(InvalidInput) as error:
        order_status_set(order_id=order.pk, status="shipped", actor="staff:1")
    assert (error.value.field, error.value.code) == ("tracking_ref", "required")
    order_status_set(order_id=order.pk, status="shipped", actor="api:abc", tracking_ref="COLIS-123")
    order, changed = order_status_set(order_id=order.pk, status="delivered", actor="api:abc")

    assert changed
    assert (order.status, order.tracking_ref) == ("delivered", "COLIS-123")
    history = list(order.events.values_list("from_status", "to_status", "actor", "tracking_ref", "note"))
    assert history == [
        ("", "placed", "member", "", ""),
        ("placed", "confirmed", "staff:1", "", "checked"),
        ("confirmed", "shipped", "api:abc", "COLIS-123", ""),
        ("shipped", "delivered", "api:abc", "", ""),
    ]


def test_asking_for_the_current_status_again_changes_nothing(in_brand):
    order = physical_order()
    order_status_set(order_id=order.pk, status="confirmed", actor="api:x")
    _, changed = order_status_set(order_id=order.pk, status="confirmed", actor="api:x")
    assert not changed
    assert order.events.count() == 2


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "shipped"),
        ([], "delivered"),
        (["confirmed"], "delivered"),  # a physical order is shipped first
        (["confirmed", ("shipped", "T1")], "cancelled"),
        (["confirmed", ("shipped", "T1"), "delivered"], "confirmed"),
        (["cancelled"], "confirmed"),
    ],
)
def test_transitions_outside_the_state_machine_are_refused(in_brand, path, target):
    order = physical_order()
    for step in path:
        status, tracking = step if isinstance(step, tuple) else (step, "")
        order_status_set(order_id=order.pk, status=status, actor="t", tracking_ref=tracking)
    before = Order.objects.get(pk=order.pk).status
    with pytest.raises(OrderTransitionError) as error:
        order_status_set(order_id=order.pk, status=target, actor="t", tracking_ref="T2")
    assert error.value.field == "status"
    assert Order.objects.get(pk=order.pk).status == before


def test_unknown_status_and_unknown_order(in_brand):
    order = physical_order()
    with pytest.raises(InvalidInput) as error:
        order_status_set(order_id=order.pk, status="lost", actor="t")
    assert error.value.field == "status"
    with pytest.raises(NotFound) as error:
        order_status_set(order_id=order.pk + 1000, status="confirmed", actor="t")
    assert (error.value.field, error.value.code) == ("order", "not_found")


def test_orders_without_physical_gifts_are_delivered_without_shipping(in_brand):
    member = member_make(points=1000)
    gift = gift_make(
        kind=Gift.Kind.DONATION,
        points_price=100,
        charity_name="Charity",
        donation_amount=Decimal("5"),
        donation_currency="EUR",
    )
    order, _ = order_place(
        member_id=member.pk, items=[RedeemItem(gift_id=gift.pk)], idempotency_key="d", actor="member"
    )
    order_status_set(order_id=order.pk, status="confirmed", actor="t")
    with pytest.raises(OrderTransitionError):
        order_status_set(order_id=order.pk, status="shipped", actor="t", tracking_ref="X")
    order, _ = order_status_set(order_id=order.pk, status="delivered", actor="t")
    assert order.status == "delivered"


def test_cancelling_gives_points_back_into_their_lots_and_returns_stock_once(in_brand):
    member = member_make(points=1000)
    gift = gift_make(points_price=150, stock=4)
    order = physical_order(member=member, gift=gift, quantity=2)
    order_status_set(order_id=order.pk, status="confirmed", actor="t")

    order, changed = order_cancel(order_id=order.pk, actor="staff:1", note="out of colour")
    _, changed_again = order_status_set(order_id=order.pk, status="cancelled", actor="staff:1")

    assert (changed, changed_again) == (True, False)
    member.refresh_from_db()
    gift.refresh_from_db()
    assert (member.balance, gift.stock) == (1000, 4)
    assert member.balance == ledger_sum(member_id=member.pk)
    reversals = LedgerEntry.objects.filter(member=member, kind=LedgerEntry.Kind.REVERSE)
    assert list(reversals.values_list("points", flat=True)) == [300]
    assert reversals.get().reverses_id == order.debit_entry_id
    assert order.restore_entry_id == reversals.get().pk
    assert PointLot.objects.get(member=member).remaining == 1000  # back into the very lot
    assert order.events.last().note == "out of colour"


def test_shipped_orders_cannot_be_cancelled_and_members_only_cancel_placed_ones(in_brand):
    order = physical_order()
    order_status_set(order_id=order.pk, status="confirmed", actor="t")
    with pytest.raises(OrderTransitionError):
        order_cancel(order_id=order.pk, actor="member", only_from=(Order.Status.PLACED,))
    order_status_set(order_id=order.pk, status="shipped", actor="t", tracking_ref="T")
    with pytest.raises(OrderTransitionError):
        order_cancel(order_id=order.pk, actor="staff:1")
    assert Order.objects.get(pk=order.pk).restore_entry_id is None
