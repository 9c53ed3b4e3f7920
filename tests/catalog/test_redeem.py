"""Redemption (order_place): what is taken, the refusals (nothing taken), idempotency, each kind."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Gift, Order, OrderEvent, VoucherCode
from catalog.selectors import gift_offers_page, member_spendable_points
from catalog.services import (
    IdempotencyConflict,
    RedeemItem,
    RedemptionRefused,
    ShippingAddress,
    order_cancel,
    order_place,
)
from core.errors import InvalidInput
from loyalty.models import LedgerEntry, Member, ProgrammeSettings, Tier
from loyalty.services.ledger import ledger_sum
from tests.factories import credit_make, member_make

from .factories import ADDRESS, gift_make

pytestmark = pytest.mark.django_db


def place(member, *items, key="k1", shipping=ADDRESS, **kwargs):
    return order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk, quantity=quantity) for gift, quantity in items],
        shipping=ShippingAddress(**shipping) if shipping else None,
        idempotency_key=key,
        actor="test",
        **kwargs,
    )


def assert_ledger_consistent(member: Member) -> None:
    member.refresh_from_db()
    assert member.balance == ledger_sum(member_id=member.pk)
    assert member.balance >= 0


def test_physical_redemption_takes_points_and_stock_and_records_everything(in_brand):
    member = member_make(points=1000)
    gift = gift_make(name="Kettle", points_price=300, stock=5)

    order, created = place(member, (gift, 2))

    assert created
    member.refresh_from_db()
    gift.refresh_from_db()
    assert member.balance == 400
    assert gift.stock == 3
    assert order.status == Order.Status.PLACED
    assert order.total_points == 600
    assert order.debit_entry.points == -600
    assert order.debit_entry.kind == LedgerEntry.Kind.REDEEM
    assert order.debit_entry.source == f"order:{order.pk}"
    line = order.lines.get()
    assert (line.gift_name, line.quantity, line.points_each, line.points_total) == ("Kettle", 2, 300, 600)
    assert (order.ship_city, order.ship_country) == ("Paris", "FR")
    assert list(order.events.values_list("from_status", "to_status")) == [("", "placed")]
    assert_ledger_consistent(member)


def test_several_gifts_in_one_order_are_all_or_nothing(in_brand):
    member = member_make(points=1000)
    plenty = gift_make(points_price=100, stock=10)
    scarce = gift_make(points_price=100, stock=1)

    with pytest.raises(RedemptionRefused) as refused:
        place(member, (plenty, 3), (scarce, 2))

    assert refused.value.code == "out_of_stock"
    assert refused.value.field == "items[1].quantity"
    member.refresh_from_db()
    plenty.refresh_from_db()
    scarce.refresh_from_db()
    assert (member.balance, plenty.stock, scarce.stock) == (1000, 10, 1)
    assert not Order.objects.exists()
    assert not LedgerEntry.objects.filter(member=member, kind=LedgerEntry.Kind.REDEEM).exists()

    order, _ = place(member, (plenty, 3), (scarce, 1), key="k2")
    assert order.total_points == 400
    assert sorted(order.lines.values_list("quantity", flat=True)) == [1, 3]


def test_not_enough_points_takes_nothing(in_brand):
    member = member_make(points=250)
    gift = gift_make(points_price=100, stock=10)

    with pytest.raises(RedemptionRefused) as refused:
        place(member, (gift, 3))

    assert refused.value.code == "insufficient_points"
    assert "300 needed, 250 available" in refused.value.message
    gift.refresh_from_db()
    member.refresh_from_db()
    assert (gift.stock, member.balance) == (10, 250)
    assert not Order.objects.exists()


def test_redemption_never_uses_the_overdraft(in_brand):
    member = member_make(points=50)
    Member.objects.filter(pk=member.pk).update(overdraft_limit=500)
    with pytest.raises(RedemptionRefused) as refused:
        place(member, (gift_make(points_price=60), 1))
    assert refused.value.code == "insufficient_points"


def test_pending_points_are_not_spendable_and_not_counted_as_affordable(in_brand):
    ProgrammeSettings.objects.update_or_create(id=1, defaults={"pending_days": 14})
    member = member_make(points=500)  # spendable in 14 days
    ProgrammeSettings.objects.filter(id=1).update(pending_days=0)
    credit_make(member, 100)  # spendable at once
    gift = gift_make(points_price=300)

    assert member_spendable_points(member_id=member.pk) == 100
    spendable = member_spendable_points(member_id=member.pk)
    page = gift_offers_page(member=member, spendable=spendable, number=1, per_page=48)
    offer = next(o for o in page.object_list if o.gift.pk == gift.pk)
    assert (offer.affordable, offer.points_missing) == (False, 200)
    with pytest.raises(RedemptionRefused) as refused:
        place(member, (gift, 1))
    assert refused.value.code == "insufficient_points"


def test_limit_per_member_counts_earlier_orders_but_not_cancelled_ones(in_brand):
    member = member_make(points=10_000)
    gift = gift_make(points_price=10, limit_per_member=2)

    first, _ = place(member, (gift, 2), key="a")
    with pytest.raises(RedemptionRefused) as refused:
        place(member, (gift, 1), key="b")
    assert refused.value.code == "limit_reached"
    assert "limited to 2 per member (you already have 2)" in refused.value.message

    order_cancel(order_id=first.pk, actor="test")
    order, _ = place(member, (gift, 2), key="c")
    assert order.status == Order.Status.PLACED
    # Another member has their own allowance.
    place(member_make(points=100), (gift, 2), key="d")


def test_tier_and_vip_restrictions(in_brand):
    gold = Tier.objects.create(code="gold", name="Gold", threshold=1000)
    silver = Tier.objects.create(code="silver", name="Silver", threshold=100)
    for_gold = gift_make(points_price=10, tiers=[gold])
    for_vip = gift_make(points_price=10, vip_only=True)
    member = member_make(points=1000)
    Member.objects.filter(pk=member.pk).update(tier=silver)

    with pytest.raises(RedemptionRefused) as refused:
        place(member, (for_gold, 1), key="a")
    assert (refused.value.code, refused.value.field) == ("not_your_tier", "items[0].gift_id")
    assert "Gold" in refused.value.message
    with pytest.raises(RedemptionRefused) as refused:
        place(member, (for_vip, 1), key="b")
    assert refused.value.code == "not_your_tier"
    assert "VIP" in refused.value.message

    Member.objects.filter(pk=member.pk).update(
        tier=gold, is_vip=True, vip_source="manual", vip_since=timezone.now()
    )
    place(member, (for_gold, 1), (for_vip, 1), key="c")
    member.refresh_from_db()
    assert member.balance == 980


@pytest.mark.parametrize(
    "fields",
    [
        {"is_active": False},
        {"available_from": timezone.now() + timedelta(days=1)},
        {"available_until": timezone.now() - timedelta(seconds=1)},
    ],
    ids=["inactive", "not-yet", "over"],
)
def test_unavailable_gifts_are_refused(in_brand, fields):
    member = member_make(points=1000)
    with pytest.raises(RedemptionRefused) as refused:
        place(member, (gift_make(points_price=10, **fields), 1))
    assert refused.value.code == "unavailable"


def test_blocked_member_is_refused(in_brand):
    member = member_make(points=1000)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)
    with pytest.raises(RedemptionRefused) as refused:
        place(member, (gift_make(points_price=10), 1))
    assert (refused.value.code, refused.value.field) == ("member_not_active", "member")


def test_a_total_beyond_any_balance_is_refused_not_a_database_error(in_brand):
    member = member_make(points=1000)
    gift = gift_make(points_price=2_000_000_000, stock=10)
    with pytest.raises(RedemptionRefused) as refused:
        place(member, (gift, 5))
    assert refused.value.code == "insufficient_points"


def test_same_idempotency_key_returns_the_same_order_and_charges_once(in_brand):
    member = member_make(points=1000)
    gift = gift_make(points_price=100, stock=10)

    first, created_first = place(member, (gift, 2), key="retry-me")
    again, created_again = place(member, (gift, 2), key="retry-me")

    assert (created_first, created_again) == (True, False)
    assert again.pk == first.pk
    member.refresh_from_db()
    gift.refresh_from_db()
    assert (member.balance, gift.stock) == (800, 8)
    with pytest.raises(IdempotencyConflict) as conflict:
        place(member, (gift, 3), key="retry-me")
    assert conflict.value.field == "idempotency_key"


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([("g", 0)], "items[0].quantity"),
        ([("g", 101)], "items[0].quantity"),
        ([("g", 1), ("g", 2)], "items[1].gift_id"),
        ([("missing", 1)], "items[0].gift_id"),
    ],
    ids=["empty", "zero", "too-many", "twice", "unknown"],
)
def test_bad_items_are_named(in_brand, items, field):
    member = member_make(points=1000)
    gift = gift_make(points_price=10)
    ids = {"g": gift.pk, "missing": gift.pk + 10_000}
    with pytest.raises(InvalidInput) as error:
        order_place(
            member_id=member.pk,
            items=[RedeemItem(gift_id=ids[name], quantity=q) for name, q in items],
            shipping=ShippingAddress(**ADDRESS),
            idempotency_key="k",
            actor="test",
        )
    assert error.value.field == field
    member.refresh_from_db()
    assert member.balance == 1000


def test_physical_gifts_need_a_complete_address(in_brand):
    member = member_make(points=1000)
    gift = gift_make(points_price=10)
    with pytest.raises(InvalidInput) as error:
        place(member, (gift, 1), shipping=None)
    assert error.value.field == "shipping_address"
    with pytest.raises(InvalidInput) as error:
        place(member, (gift, 1), shipping={**ADDRESS, "city": " "})
    assert error.value.field == "shipping_address.city"
    with pytest.raises(InvalidInput) as error:
        place(member, (gift, 1), key="")
    assert error.value.field == "idempotency_key"


def test_voucher_redemption_hands_out_unused_codes_and_cancel_does_not_return_them(in_brand):
    member = member_make(points=1000)
    gift = gift_make(points_price=100, codes=["CINE-1", "CINE-2", "CINE-3"])

    order, _ = place(member, (gift, 2), shipping=None)

    codes = list(order.lines.get().codes.values_list("code", flat=True))
    assert codes == ["CINE-1", "CINE-2"]
    assert VoucherCode.objects.filter(gift=gift, order_line__isnull=True).count() == 1
    with pytest.raises(RedemptionRefused) as refused:
        place(member, (gift, 2), key="k2", shipping=None)
    assert refused.value.code == "out_of_stock"

    order_cancel(order_id=order.pk, actor="test")
    assert VoucherCode.objects.filter(gift=gift, order_line__isnull=True).count() == 1
    second, _ = place(member, (gift, 1), key="k3", shipping=None)
    assert list(second.lines.get().codes.values_list("code", flat=True)) == ["CINE-3"]


def test_donation_records_the_amount_given(in_brand):
    member = member_make(points=1000)
    gift = gift_make(
        kind=Gift.Kind.DONATION,
        points_price=200,
        charity_name="Restos du Coeur",
        donation_amount=Decimal("10.00"),
        donation_currency="EUR",
    )
    order, _ = place(member, (gift, 3), shipping=None)
    line = order.lines.get()
    assert (line.amount, line.currency, line.charity_name) == (Decimal("30.00"), "EUR", "Restos du Coeur")


def test_conversion_voucher_is_worth_the_programme_point_value(in_brand):
    ProgrammeSettings.objects.update_or_create(
        id=1, defaults={"points_per_unit": 100, "unit_value": Decimal("5.00"), "currency": "EUR"}
    )
    member = member_make(points=1000)
    gift = gift_make(kind=Gift.Kind.CONVERSION, name="10 EUR voucher", points_price=200)

    order, _ = place(member, (gift, 2), shipping=None)

    line = order.lines.get()
    assert (line.amount, line.currency) == (Decimal("20.00"), "EUR")
    codes = list(line.codes.values_list("code", flat=True))
    assert len(codes) == 2 and len(set(codes)) == 2 and all(code.startswith("CV-") for code in codes)


def test_order_event_signal_fires_after_commit(in_brand, django_capture_on_commit_callbacks):
    from catalog.signals import order_status_changed

    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    order_status_changed.connect(listener)
    try:
        member = member_make(points=1000)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            order, _ = place(member, (gift_make(points_price=10), 1))
        assert received == []  # nothing before the commit
        for callback in callbacks:
            callback()
    finally:
        order_status_changed.disconnect(listener)
    event = OrderEvent.objects.get(order=order)
    assert received == [
        {
            "signal": order_status_changed,
            "order_id": order.pk,
            "event_id": event.pk,
            "from_status": "",
            "to_status": "placed",
            "schema_name": in_brand.schema_name,
        }
    ]
