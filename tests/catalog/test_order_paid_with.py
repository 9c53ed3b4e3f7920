"""`order_place(paid_with=...)`: an order paid by a redeem debit already taken (a points auction's
winning hold): no second debit, the order's total is the debit's points, the stock is taken, the
gift need not be on sale; any other entry is refused and takes nothing."""

from __future__ import annotations

import pytest

from catalog.models import Gift, Order
from catalog.services import RedeemItem, RedemptionRefused, ShippingAddress, order_place
from core.errors import InvalidInput
from loyalty.models import LedgerEntry
from tests.catalog.factories import ADDRESS, gift_make
from tests.factories import credit_make, debit_make, member_make

SHIP = ShippingAddress(**ADDRESS)


def _place(member, gift, debit, **kwargs):
    return order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk)],
        idempotency_key=kwargs.pop("key", "auction:1"),
        actor="auction",
        shipping=SHIP,
        paid_with=debit,
        **kwargs,
    )


def test_an_order_paid_with_a_debit_takes_no_more_points(in_brand):
    member = member_make("m-paid", points=1000)
    gift = gift_make(points_price=5000, stock=2, is_active=False)  # not in the store: auctioned
    hold = debit_make(member, 300)
    order, created = _place(member, gift, hold)
    assert created and order.total_points == 300 and order.debit_entry_id == hold.pk
    assert order.lines.get().points_total == 300
    assert Gift.objects.get(pk=gift.pk).stock == 1
    member.refresh_from_db()
    assert member.balance == 700
    assert LedgerEntry.objects.filter(member=member, kind=LedgerEntry.Kind.REDEEM).count() == 1
    again, created = _place(member, gift, hold)
    assert not created and again.pk == order.pk


def test_a_debit_pays_one_order_once_and_only_its_members(in_brand):
    member, other = member_make("m-one", points=1000), member_make("m-other", points=1000)
    gift = gift_make(stock=5)
    hold = debit_make(member, 300)
    _place(member, gift, hold)
    with pytest.raises(InvalidInput) as error:
        _place(member, gift, hold, key="auction:2")
    assert error.value.field == "paid_with"
    with pytest.raises(InvalidInput) as error:
        _place(other, gift, hold, key="auction:3")
    assert error.value.field == "paid_with"
    earned = credit_make(member, 10)
    with pytest.raises(InvalidInput):
        _place(member, gift, earned, key="auction:4")
    assert Order.objects.filter(member=other).count() == 0


def test_a_paid_order_is_one_gift_and_still_takes_stock(in_brand):
    member = member_make("m-stock", points=1000)
    gift = gift_make(stock=0)
    hold = debit_make(member, 100)
    with pytest.raises(RedemptionRefused) as refused:
        _place(member, gift, hold)
    assert refused.value.code == "out_of_stock"
    with pytest.raises(InvalidInput) as error:
        order_place(
            member_id=member.pk,
            items=[RedeemItem(gift_id=gift.pk, quantity=2)],
            idempotency_key="auction:5",
            actor="auction",
            paid_with=hold,
        )
    assert error.value.field == "items"
