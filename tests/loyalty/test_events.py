"""Recording activity events: the issue's examples, idempotency (also under 20 concurrent senders),
refunds, limits and budgets (also under concurrency), sales-rep beneficiaries, bad events, batches,
the simulator, and the tier/badge hooks. Real PostgreSQL throughout; concurrency on committed data
(`fresh_brand`), each thread with its own connection."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.api.errors import domain_error_status
from core.errors import DomainError, InvalidInput, NotFound
from loyalty.models import (
    ActivityEvent,
    Badge,
    EarningRule,
    LedgerEntry,
    Member,
    MemberBadge,
    PointLot,
    ProgrammeSettings,
    Segment,
    Tier,
)
from loyalty.services.events import (
    BATCH_CHUNK_MEMBERS,
    BATCH_MAX,
    EventInput,
    NotRecorded,
    event_record,
    event_simulate,
    events_record_batch,
)
from loyalty.services.events import pipeline as events_pipeline
from loyalty.services.expiry import points_expire_due
from loyalty.services.ledger import EntryCause, ledger_sum, member_lock, points_credit, points_debit
from loyalty.services.members import member_upsert
from loyalty.services.rules import rule_create

PARIS = ZoneInfo("Europe/Paris")


def cond(field, op, value) -> dict:
    return {"field": field, "op": op, "value": value}


HAPPY_HOUR = cond("local_time", "between", ["18:00", "22:00"])
TRIP_RULES = [
    {
        "name": "Suburb to Paris, happy hour",
        "event_type": "trip",
        "conditions": [
            cond("attributes.zone_from", "in", [3, 4]),
            cond("attributes.zone_to", "equals", 1),
            HAPPY_HOUR,
        ],
        "award_type": "fixed",
        "points": 200,
    },
    {
        "name": "Zone 2 to Paris, happy hour",
        "event_type": "trip",
        "conditions": [
            cond("attributes.zone_from", "equals", 2),
            cond("attributes.zone_to", "equals", 1),
            HAPPY_HOUR,
        ],
        "award_type": "fixed",
        "points": 100,
    },
]
PER_EURO = {"name": "per euro", "event_type": "purchase", "award_type": "per_amount", "points_per_unit": "1"}
PURCHASE_RULES = [
    {
        "name": "1 point per euro, at most 500 a day",
        "event_type": "purchase",
        "award_type": "per_amount",
        "points_per_unit": "1",
        "limit_period": "day",
        "limit_points": 500,
        "priority": 10,
    },
    {
        "name": "Double on featured",
        "event_type": "purchase",
        "award_type": "multiplier",
        "multiplier": "2",
        "item_conditions": [cond("category", "equals", "featured")],
        "priority": 20,
    },
]


def event(member: str, type: str, at: datetime, key: str, **attributes) -> EventInput:
    return EventInput(member=member, type=type, occurred_at=at, attributes=attributes, idempotency_key=key)


def purchase_points(member: str, at: datetime, key: str, amount: str, featured: str = "0") -> int:
    """The points a purchase recorded now earns."""
    return event_record(data=purchase(member, at, key, amount, featured=featured))["points_awarded"]


def purchase(member: str, at: datetime, key: str, amount: str, featured: str = "0") -> EventInput:
    items = (
        [{"sku": "F1", "category": "featured", "quantity": 1, "unit_price": featured}]
        if featured != "0"
        else []
    )
    rest = Decimal(amount) - Decimal(featured)
    if rest:
        items.append({"sku": "R1", "category": "other", "quantity": 1, "unit_price": str(rest)})
    return event(member, "purchase", at, key, amount=amount, currency="EUR", items=items)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def member(external_id: str) -> Member:
    return Member.objects.get(external_id=external_id)


def assert_ledger_consistent(external_id: str) -> None:
    row = member(external_id)
    assert row.balance == ledger_sum(member_id=row.pk)
    open_lots = sum(PointLot.objects.filter(member=row).values_list("remaining", flat=True))
    assert open_lots - row.points_owed == row.balance


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count() for model in (ActivityEvent, LedgerEntry, PointLot, Member, MemberBadge)
    )


@pytest.fixture
def brand(db, brand_a):
    connection.set_tenant(brand_a)
    return brand_a


# --- the examples --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone_from", "zone_to", "at", "points"),
    [
        (3, 1, paris(2026, 5, 4, 18, 0), 200),
        (4, 1, paris(2026, 5, 4, 21, 59), 200),
        (2, 1, paris(2026, 5, 4, 19, 30), 100),
        (3, 1, paris(2026, 5, 4, 22, 0), 0),
        (4, 1, paris(2026, 5, 4, 17, 59), 0),
        (2, 1, paris(2026, 5, 4, 8, 15), 0),
        (3, 2, paris(2026, 5, 4, 19, 0), 0),
        (1, 1, paris(2026, 5, 4, 19, 0), 0),
        # Paris time, not UTC: 17:30Z is 19:30 in Paris in May.
        (3, 1, datetime(2026, 5, 4, 17, 30, tzinfo=UTC), 200),
        (3, 1, datetime(2026, 5, 4, 20, 30, tzinfo=UTC), 0),
    ],
)
def test_trip_from_the_suburbs_to_paris_in_happy_hour(brand, zone_from, zone_to, at, points):
    for data in TRIP_RULES:
        rule_create(data=data)
    member_upsert(external_id="rider", data={})
    result = event_record(data=event("rider", "trip", at, "trip-1", zone_from=zone_from, zone_to=zone_to))
    assert result["points_awarded"] == points
    assert member("rider").balance == points
    if points:
        (award,) = result["awards"]
        assert award["beneficiary"] == {"kind": "member", "member": "rider"}
        entry = LedgerEntry.objects.get(member__external_id="rider")
        assert entry.kind == "earn" and entry.points == points
        assert entry.event.idempotency_key == "trip-1"
        assert entry.rule.name == award["rule"]["name"]
        assert entry.explanation == award["explanation"]
        assert [c["field"] for c in entry.explanation["conditions"]] == [
            "attributes.zone_from",
            "attributes.zone_to",
            "local_time",
        ]
    else:
        assert result["awards"] == [] and not LedgerEntry.objects.exists()


def test_purchase_one_point_per_euro_double_on_featured_at_most_500_a_day(brand):
    for data in PURCHASE_RULES:
        rule_create(data=data)
    member_upsert(external_id="shopper", data={})
    first = event_record(data=purchase("shopper", paris(2026, 5, 4, 10), "p1", "300.00", featured="100.00"))
    assert first["points_awarded"] == 400  # 300 + 100 more on the featured item
    explanation = first["awards"][0]["explanation"]
    assert explanation["computation"]["basis"] == "300"
    assert explanation["multipliers"][0]["rule"]["name"] == "Double on featured"
    assert explanation["multipliers"][0]["items"] == [0]

    second = event_record(data=purchase("shopper", paris(2026, 5, 4, 15), "p2", "250.00", featured="50.00"))
    assert second["points_awarded"] == 100  # 300 asked, 100 left of the day's 500
    (cap,) = second["awards"][0]["explanation"]["caps"]
    assert (cap["cap"], cap["limit"], cap["before"], cap["already_earned"], cap["period_limit"]) == (
        "per_day",
        100,
        300,
        400,
        500,
    )
    third = event_record(data=purchase("shopper", paris(2026, 5, 4, 23, 59), "p3", "20.00"))
    assert third["points_awarded"] == 0 and third["awards"] == []
    # A new day in Paris (00:10 local is still the 4th in UTC).
    fourth = event_record(data=purchase("shopper", paris(2026, 5, 5, 0, 10), "p4", "20.00", featured="20.00"))
    assert fourth["points_awarded"] == 40
    assert member("shopper").balance == 540 == fourth["balance"]
    assert_ledger_consistent("shopper")
    stored = ActivityEvent.objects.get(idempotency_key="p1")
    assert (stored.amount, stored.currency, stored.points_awarded) == (Decimal("300.00"), "EUR", 400)


# --- idempotency ----------------------------------------------------------------------------------


def test_same_key_replays_and_writes_nothing(brand):
    rule_create(data={"name": "Review", "event_type": "review", "points": 25})
    member_upsert(external_id="writer", data={})
    data = event("writer", "review", paris(2026, 5, 4, 12), "review-1", product="X9", rating=5)
    first = event_record(data=data)
    before = counts()
    again = event_record(data=data)
    assert counts() == before
    assert again == {**first, "replayed": True}
    assert member("writer").balance == 25


@pytest.mark.parametrize(
    "change",
    [
        {"member": "someone-else"},
        {"type": "damage_report"},
        {"occurred_at": paris(2026, 5, 4, 12, 1)},
        {"attributes": {"product": "X9", "rating": 4}},
    ],
)
def test_same_key_with_another_body_is_a_conflict(brand, change):
    member_upsert(external_id="writer", data={})
    member_upsert(external_id="someone-else", data={})
    fields = {
        "member": "writer",
        "type": "review",
        "occurred_at": paris(2026, 5, 4, 12),
        "attributes": {"product": "X9", "rating": 5},
        "idempotency_key": "review-1",
    }
    event_record(data=EventInput(**fields))
    before = counts()
    with pytest.raises(DomainError) as raised:
        event_record(data=EventInput(**{**fields, **change}))
    assert (domain_error_status(raised.value), raised.value.field) == (409, "idempotency_key")
    assert counts() == before


def _in_threads(brand, count: int, work) -> list:
    """Run `work(index)` in `count` threads at once, each on its own connection in the brand."""
    barrier = threading.Barrier(count)

    def run(index: int):
        try:
            connection.set_tenant(brand)
            barrier.wait()
            try:
                return work(index)
            except DomainError as error:
                return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_same_event_sent_20_times_concurrently_earns_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    for data in PURCHASE_RULES:
        rule_create(data=data)
    member_upsert(external_id="racer", data={})
    data = purchase("racer", paris(2026, 5, 4, 10), "race-1", "120.00", featured="20.00")
    results = _in_threads(fresh_brand, 20, lambda _: event_record(data=data))
    connection.set_tenant(fresh_brand)
    assert [r["replayed"] for r in results].count(False) == 1
    assert all(r["points_awarded"] == 140 and r["awards"] == results[0]["awards"] for r in results)
    assert ActivityEvent.objects.count() == 1
    assert LedgerEntry.objects.count() == 1
    assert member("racer").balance == 140
    assert_ledger_consistent("racer")


def test_same_new_member_sent_concurrently_with_auto_creation(fresh_brand):
    connection.set_tenant(fresh_brand)
    ProgrammeSettings.objects.filter(id=1).update(auto_create_members=True)
    rule_create(data={"name": "Review", "event_type": "review", "points": 25})
    results = _in_threads(
        fresh_brand,
        10,
        lambda i: event_record(data=event("newbie", "review", paris(2026, 5, 4, 12), f"r-{i % 3}")),
    )
    connection.set_tenant(fresh_brand)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Member.objects.filter(external_id="newbie").count() == 1
    assert ActivityEvent.objects.count() == 3
    assert member("newbie").balance == 75
    assert_ledger_consistent("newbie")


# --- refunds --------------------------------------------------------------------------------------


def _refund(member_id: str, key: str, original: str, at=None) -> dict:
    return event_record(
        data=event(member_id, "refund", at or paris(2026, 5, 6, 9), key, original_event=original)
    )


def test_refund_reverses_exactly_what_the_purchase_earned_once(brand):
    for data in PURCHASE_RULES:
        rule_create(data=data)
    member_upsert(external_id="shopper", data={})
    event_record(data=purchase("shopper", paris(2026, 5, 4, 10), "keep", "50.00"))
    bought = event_record(data=purchase("shopper", paris(2026, 5, 4, 11), "buy", "120.00", featured="20.00"))
    assert bought["points_awarded"] == 140
    refund = _refund("shopper", "refund-1", "buy")
    assert refund["points_awarded"] == -140
    assert refund["refund"] == {"original_event": "buy", "already_reversed": False}
    (award,) = refund["awards"]
    assert award["explanation"]["taken_back"] == 140 and "not_recovered" not in award["explanation"]
    earn = LedgerEntry.objects.get(event__idempotency_key="buy")
    reverse = LedgerEntry.objects.get(kind="reverse")
    assert (reverse.points, reverse.reverses_id, reverse.rule_id, reverse.event.idempotency_key) == (
        -140,
        earn.pk,
        earn.rule_id,
        "refund-1",
    )
    assert member("shopper").balance == 50 == refund["balance"]
    assert ActivityEvent.objects.get(idempotency_key="buy").reversed_at is not None

    before = counts()
    twice = _refund("shopper", "refund-2", "buy")
    assert twice["points_awarded"] == 0 and twice["awards"] == []
    assert twice["refund"] == {"original_event": "buy", "already_reversed": True}
    assert counts()[1:3] == before[1:3]  # the second refund is recorded, but no entry or lot changes
    assert _refund("shopper", "refund-1", "buy")["replayed"] is True
    assert member("shopper").balance == 50
    assert_ledger_consistent("shopper")


def test_refund_frees_the_daily_limit_of_the_day_of_the_purchase(brand):
    rule_create(data=PURCHASE_RULES[0])
    member_upsert(external_id="shopper", data={})
    event_record(data=purchase("shopper", paris(2026, 5, 4, 10), "big", "500.00"))
    assert purchase_points("shopper", paris(2026, 5, 4, 11), "more", "30.00") == 0
    _refund("shopper", "refund-big", "big", at=paris(2026, 5, 9, 9))
    assert purchase_points("shopper", paris(2026, 5, 4, 12), "late", "30.00") == 30


def test_refund_of_points_already_spent_takes_back_what_is_left(brand):
    rule_create(data=PER_EURO)
    member_upsert(external_id="spender", data={})
    event_record(data=purchase("spender", paris(2026, 5, 4, 10), "buy", "100.00"))
    with transaction.atomic():
        locked = member_lock(member_id=member("spender").pk)
        points_debit(member=locked, points=70, kind="redeem", cause=EntryCause(source="order:1"))
    refund = _refund("spender", "refund-1", "buy")
    assert refund["points_awarded"] == -30
    explanation = refund["awards"][0]["explanation"]
    assert (explanation["earned"], explanation["taken_back"], explanation["not_recovered"]) == (100, 30, 70)
    assert "already spent" in explanation["note"]
    assert LedgerEntry.objects.get(kind="reverse").explanation == explanation
    assert member("spender").balance == 0
    assert_ledger_consistent("spender")


def test_refund_does_not_count_points_past_their_expiry(brand):
    rule_create(data=PER_EURO)
    member_upsert(external_id="old", data={})
    with transaction.atomic():
        locked = member_lock(member_id=member("old").pk)
        points_credit(
            member=locked,
            points=50,
            kind="adjust",
            cause=EntryCause(reason="welcome gift"),
            expires_at=timezone.now() - timedelta(minutes=1),  # expired, not yet written off
        )
    event_record(data=purchase("old", paris(2026, 5, 4, 10), "buy", "100.00"))
    with transaction.atomic():
        locked = member_lock(member_id=member("old").pk)
        points_debit(member=locked, points=70, kind="redeem", cause=EntryCause(source="order:7"))
    refund = _refund("old", "refund-1", "buy")
    assert refund["points_awarded"] == -30
    assert refund["awards"][0]["explanation"]["not_recovered"] == 70
    assert_ledger_consistent("old")


def test_refund_after_the_points_expired_takes_nothing_else(brand):
    """Points the purchase earned that then expired are lost already: the refund does not take the
    member's other points for them (before, it took them again from the other lots)."""
    rule_create(data=PER_EURO)
    member_upsert(external_id="late", data={})
    event_record(data=purchase("late", paris(2026, 5, 4, 10), "buy", "100.00"))
    bought = PointLot.objects.filter(entry__event__idempotency_key="buy")
    now = timezone.now()
    bought.update(expires_at=now + timedelta(hours=1))  # the first lot to expire: debits take it first
    with transaction.atomic():
        locked = member_lock(member_id=member("late").pk)
        points_credit(member=locked, points=80, kind="adjust", cause=EntryCause(reason="goodwill"))
        points_debit(member=locked, points=30, kind="redeem", cause=EntryCause(source="order:9"))
    bought.update(expires_at=now - timedelta(minutes=1))
    assert points_expire_due(at=now) == 70  # what the debit left of the purchase
    assert member("late").balance == 80

    simulated = event_simulate(data=event("late", "refund", paris(2026, 5, 6, 9), "", original_event="buy"))
    refund = _refund("late", "refund-1", "buy")
    assert refund["points_awarded"] == -30 == simulated["points_awarded"]  # only what was spent of it
    explanation = refund["awards"][0]["explanation"]
    assert (explanation["earned"], explanation["taken_back"], explanation["expired"]) == (100, 30, 70)
    assert "70 had expired" in explanation["note"]
    assert member("late").balance == 50
    assert_ledger_consistent("late")


def test_refund_during_the_pending_period_cancels_the_pending_points(brand):
    ProgrammeSettings.objects.filter(id=1).update(pending_days=14)
    rule_create(data=PER_EURO)
    member_upsert(external_id="quick", data={})
    event_record(data=purchase("quick", paris(2026, 5, 4, 10), "buy", "100.00"))
    refund = _refund("quick", "refund-1", "buy")
    assert refund["points_awarded"] == -100
    assert sum(PointLot.objects.filter(member__external_id="quick").values_list("remaining", flat=True)) == 0


def test_refund_takes_back_the_sales_reps_points_and_returns_the_budget(brand):
    rep = get_user_model().objects.create_user(username="rep-anna", password="x", is_staff=True)
    rule_create(data=PER_EURO)
    rep_rule = rule_create(
        data={
            "name": "Rep: 10 per featured item",
            "event_type": "purchase",
            "award_type": "per_item",
            "points": 10,
            "item_conditions": [cond("category", "equals", "featured")],
            "beneficiary": "sales_rep",
            "global_budget": 1000,
        }
    )
    client, _ = member_upsert(external_id="shop-1", data={})
    Member.objects.filter(pk=client.pk).update(sales_rep=rep)
    bought = event_record(data=purchase("shop-1", paris(2026, 5, 4, 10), "buy", "80.00", featured="30.00"))
    assert [(a["beneficiary"]["member"], a["points"]) for a in bought["awards"]] == [
        ("shop-1", 80),
        ("staff:rep-anna", 10),
    ]
    rep_rule.refresh_from_db()
    assert rep_rule.budget_used == 10
    refund = _refund("shop-1", "refund-1", "buy")
    assert sorted((a["beneficiary"]["kind"], a["points"]) for a in refund["awards"]) == [
        ("member", -80),
        ("sales_rep", -10),
    ]
    rep_rule.refresh_from_db()
    assert rep_rule.budget_used == 0
    assert member("staff:rep-anna").balance == 0 and member("shop-1").balance == 0
    assert_ledger_consistent("staff:rep-anna")


@pytest.mark.parametrize(
    ("attributes", "status", "field"),
    [
        ({"original_event": "never-sent"}, 404, "attributes.original_event"),
        ({}, 400, "attributes.original_event"),
        ({"original_event": 12}, 400, "attributes.original_event"),
        ({"original_event": "other-members"}, 422, "attributes.original_event"),
        ({"original_event": "a-refund"}, 422, "attributes.original_event"),
    ],
)
def test_bad_refunds_write_nothing(brand, attributes, status, field):
    rule_create(data={"name": "Review", "event_type": "review", "points": 25})
    member_upsert(external_id="me", data={})
    member_upsert(external_id="other", data={})
    event_record(data=event("other", "review", paris(2026, 5, 4, 12), "other-members"))
    event_record(data=event("me", "review", paris(2026, 5, 4, 12), "mine"))
    _refund("me", "a-refund", "mine")
    before = counts()
    with pytest.raises(DomainError) as raised:
        event_record(data=EventInput("me", "refund", paris(2026, 5, 7, 9), attributes, "bad-refund"))
    assert (domain_error_status(raised.value), raised.value.field) == (status, field)
    assert counts() == before


# --- limits, budget, beneficiaries, tiers ----------------------------------------------------------


def test_daily_limit_counts_events_by_their_local_day(brand):
    rule_create(data={**PURCHASE_RULES[0], "limit_points": 100})
    member_upsert(external_id="late", data={})
    # 29 March 2026 lasts 23 hours in Paris: 22:30Z is already the 30th.
    assert purchase_points("late", datetime(2026, 3, 29, 21, 30, tzinfo=UTC), "a", "80") == 80
    assert purchase_points("late", datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "b", "80") == 80
    # A backdated event counts in its own day, not the day it is received.
    assert purchase_points("late", datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "c", "80") == 20
    assert purchase_points("late", datetime(2026, 3, 28, 22, 30, tzinfo=UTC), "d", "80") == 80


def test_monthly_limit(brand):
    rule_create(data={**PURCHASE_RULES[0], "limit_period": "month", "limit_points": 1000})
    member_upsert(external_id="monthly", data={})
    got = [purchase_points("monthly", paris(2026, 4, day, 12), f"m{day}", "400") for day in (1, 15, 30)]
    assert got == [400, 400, 200]
    assert purchase_points("monthly", paris(2026, 5, 1, 0, 0), "may", "400") == 400


def test_global_budget_is_never_overspent_under_concurrency(fresh_brand):
    connection.set_tenant(fresh_brand)
    rule = rule_create(
        data={"name": "Launch bonus", "event_type": "referral", "points": 100, "global_budget": 950}
    )
    for index in range(16):
        member_upsert(external_id=f"m{index}", data={})
    results = _in_threads(
        fresh_brand,
        16,
        lambda i: event_record(data=event(f"m{i}", "referral", paris(2026, 5, 4, 12), f"ref-{i}")),
    )
    connection.set_tenant(fresh_brand)
    awarded = sorted(r["points_awarded"] for r in results)
    assert sum(awarded) == 950
    assert awarded.count(100) == 9 and awarded.count(50) == 1 and awarded.count(0) == 6
    rule.refresh_from_db()
    assert (
        rule.budget_used == 950 == sum(LedgerEntry.objects.filter(rule=rule).values_list("points", flat=True))
    )
    capped = next(r for r in results if r["points_awarded"] == 50)
    assert capped["awards"][0]["explanation"]["caps"][0]["cap"] == "global_budget"


def test_clients_of_one_new_sales_rep_buying_concurrently_create_one_rep_account(fresh_brand):
    connection.set_tenant(fresh_brand)
    rep = get_user_model().objects.create_user(username="rep-dee", password="x", is_staff=True)
    rule_create(
        data={"name": "Rep: 5 a sale", "event_type": "purchase", "points": 5, "beneficiary": "sales_rep"}
    )
    for index in range(8):
        client, _ = member_upsert(external_id=f"shop-{index}", data={})
        Member.objects.filter(pk=client.pk).update(sales_rep=rep)
    results = _in_threads(
        fresh_brand,
        8,
        lambda i: event_record(data=purchase(f"shop-{i}", paris(2026, 5, 4, 10), f"sale-{i}", "10")),
    )
    connection.set_tenant(fresh_brand)
    assert [r["points_awarded"] for r in results] == [5] * 8
    assert Member.objects.filter(user=rep).count() == 1
    assert member("staff:rep-dee").balance == 40
    assert_ledger_consistent("staff:rep-dee")


def test_concurrent_batches_over_the_same_members_in_opposite_orders(fresh_brand):
    connection.set_tenant(fresh_brand)
    rule_create(data={"name": "Review", "event_type": "review", "points": 3, "global_budget": 10_000})
    for index in range(30):
        member_upsert(external_id=f"m{index:02d}", data={})
    batches = [
        [event(f"m{i:02d}", "review", paris(2026, 5, 4, 12), f"fwd-{i}") for i in range(30)],
        [event(f"m{i:02d}", "review", paris(2026, 5, 4, 12), f"back-{i}") for i in reversed(range(30))],
    ]
    results = _in_threads(fresh_brand, 2, lambda i: events_record_batch(items=batches[i]))
    connection.set_tenant(fresh_brand)
    assert all(r["points_awarded"] == 3 for batch in results for r in batch)
    assert all(m.balance == 6 for m in Member.objects.all())
    assert EarningRule.objects.get().budget_used == 180


def test_sales_rep_earns_on_their_clients_featured_purchases(brand):
    rep = get_user_model().objects.create_user(
        username="rep-bob", password="x", first_name="Bob", is_staff=True
    )
    rule_create(
        data={
            "name": "Rep: 5 per featured euro",
            "event_type": "purchase",
            "award_type": "per_amount",
            "points_per_unit": "5",
            "item_conditions": [cond("category", "equals", "featured")],
            "beneficiary": "sales_rep",
        }
    )
    for shop in ("shop-1", "shop-2", "shop-3"):
        created, _ = member_upsert(external_id=shop, data={})
        if shop != "shop-3":
            Member.objects.filter(pk=created.pk).update(sales_rep=rep)
    one = event_record(data=purchase("shop-1", paris(2026, 5, 4, 10), "s1", "50", featured="10"))
    assert one["awards"][0]["beneficiary"] == {"kind": "sales_rep", "member": "staff:rep-bob"}
    assert one["points_awarded"] == 50 and one["balance"] == 0  # the client's own balance
    event_record(data=purchase("shop-2", paris(2026, 5, 4, 11), "s2", "50", featured="2"))
    assert (
        event_record(data=purchase("shop-3", paris(2026, 5, 4, 11), "s3", "50", featured="2"))["awards"] == []
    )
    account = member("staff:rep-bob")
    assert (account.user_id, account.first_name, account.balance) == (rep.pk, "Bob", 60)
    assert Member.objects.filter(user=rep).count() == 1
    Member.objects.filter(pk=account.pk).update(status="blocked")
    skipped = event_simulate(data=purchase("shop-1", paris(2026, 5, 4, 12), "", "50", featured="10"))
    assert skipped["awards"] == []
    assert skipped["trace"][0]["reason"] == "the sales rep's member account is blocked"


def test_tier_multiplier_uses_the_beneficiarys_tier(brand):
    gold = Tier.objects.create(
        code="gold", name="Gold", threshold=Decimal("100000"), earn_multiplier=Decimal("1.5")
    )
    rule_create(
        data={
            "name": "Trip",
            "event_type": "trip",
            "points": 101,
            "apply_tier_multiplier": True,
            "rounding": "up",
        }
    )
    created, _ = member_upsert(external_id="golden", data={})
    Member.objects.filter(pk=created.pk).update(tier=gold, tier_floor=gold)
    member_upsert(external_id="plain", data={})
    golden = event_record(data=event("golden", "trip", paris(2026, 5, 4, 12), "t1"))
    assert golden["points_awarded"] == 152  # 151.5 rounded up
    assert golden["awards"][0]["explanation"]["tier_multiplier"] == "1.5"
    assert event_record(data=event("plain", "trip", paris(2026, 5, 4, 12), "t2"))["points_awarded"] == 101


def test_priority_stop_after_and_active_windows(brand):
    member_upsert(external_id="m", data={})
    at = paris(2026, 5, 4, 12)
    rule_create(data={"name": "later", "event_type": "review", "points": 1, "priority": 30})
    rule_create(
        data={
            "name": "first, and stop",
            "event_type": "review",
            "points": 10,
            "priority": 10,
            "stop_after": True,
        }
    )
    rule_create(data={"name": "before", "event_type": "review", "points": 100, "priority": 5})
    rule_create(
        data={"name": "off", "event_type": "review", "points": 1000, "priority": 1, "is_active": False}
    )
    rule_create(
        data={"name": "expired", "event_type": "review", "points": 1000, "priority": 1, "active_until": at}
    )
    rule_create(
        data={
            "name": "not yet",
            "event_type": "review",
            "points": 1000,
            "active_from": at + timedelta(days=1),
        }
    )
    result = event_record(data=event("m", "review", at, "r1"))
    assert [(a["rule"]["name"], a["points"]) for a in result["awards"]] == [
        ("before", 100),
        ("first, and stop", 10),
    ]


def test_segment_condition(brand):
    Segment.objects.create(name="Wine lovers", filters={"tags": {"any": ["wine"]}})
    rule_create(
        data={
            "name": "Wine lovers' reviews",
            "event_type": "review",
            "points": 40,
            "conditions": [cond("member.segment", "equals", "Wine lovers")],
        }
    )
    member_upsert(external_id="lover", data={"tags": ["wine"]})
    member_upsert(external_id="teetotal", data={"tags": ["tea"]})
    assert event_record(data=event("lover", "review", paris(2026, 5, 4, 12), "a"))["points_awarded"] == 40
    assert event_record(data=event("teetotal", "review", paris(2026, 5, 4, 12), "b"))["points_awarded"] == 0


def test_a_segment_whose_filters_no_longer_hold_matches_nobody_and_records_the_event(brand):
    """Saved filters can stop holding (a tier deleted since): the condition then holds for no one
    (logged), and the event is recorded (not a 500 for the brand's system)."""
    Segment.objects.create(name="Gold members", filters={"tiers": ["platinum"]})  # no such tier
    rule_create(
        data={
            "name": "Gold reviews",
            "event_type": "review",
            "points": 40,
            "conditions": [cond("member.segment", "equals", "Gold members")],
        }
    )
    member_upsert(external_id="someone", data={})
    result = event_record(data=event("someone", "review", paris(2026, 5, 4, 12), "c"))
    assert result["points_awarded"] == 0
    assert ActivityEvent.objects.filter(idempotency_key="c").exists()


# --- bad events ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"type": "teleport"}, 400, "type"),
        ({"type": ""}, 400, "type"),
        ({"member": "nobody"}, 404, "member"),
        ({"idempotency_key": ""}, 400, "idempotency_key"),
        ({"idempotency_key": "k" * 129}, 400, "idempotency_key"),
        ({"attributes": ["amount", 3]}, 400, "attributes"),
        ({"attributes": {"amount": float("nan")}}, 400, "attributes"),
        ({"attributes": {"when": {1, 2}}}, 400, "attributes"),
        ({"attributes": {"amount": "-12.00"}}, 400, "attributes.amount"),
        ({"attributes": {"amount": "12,50"}}, 400, "attributes.amount"),
        ({"attributes": {"amount": "10", "currency": "USD"}}, 400, "attributes.currency"),
        ({"attributes": {"start": "2026-02-30T18:00:00+01:00"}}, 400, "attributes.start"),
        ({"attributes": {"start": "tomorrow evening"}}, 400, "attributes.start"),
        ({"attributes": {"paid_at": "04/05/2026"}}, 400, "attributes.paid_at"),
        ({"attributes": {"items": [{"sku": "A", "quantity": -1}]}}, 400, "attributes.items[0].quantity"),
        ({"member": "blocked-one"}, 422, "member"),
        ({"member": "gone"}, 422, "member"),
    ],
)
def test_bad_events_get_a_clear_error_and_write_nothing(brand, fields, status, field):
    rule_create(data=PER_EURO)
    member_upsert(external_id="buyer", data={})
    for external_id, state in (("blocked-one", "blocked"), ("gone", "anonymised")):
        created, _ = member_upsert(external_id=external_id, data={})
        Member.objects.filter(pk=created.pk).update(status=state)
    base = {
        "member": "buyer",
        "type": "purchase",
        "occurred_at": paris(2026, 5, 4, 12),
        "attributes": {"amount": "12.50"},
        "idempotency_key": "bad-1",
    }
    before = counts()
    # The simulator takes no idempotency key (it stores nothing); it checks everything else the same way.
    calls = (event_record,) if fields == {"idempotency_key": ""} else (event_record, event_simulate)
    for call in calls:
        with pytest.raises(DomainError) as raised:
            call(data=EventInput(**{**base, **fields}))
        assert (domain_error_status(raised.value), raised.value.field) == (status, field), raised.value
        assert raised.value.message
        assert counts() == before


def test_unknown_member_is_created_when_the_programme_allows_it(brand):
    ProgrammeSettings.objects.filter(id=1).update(auto_create_members=True)
    rule_create(data={"name": "Review", "event_type": "review", "points": 25})
    simulated = event_simulate(data=event("walk-in", "review", paris(2026, 5, 4, 12), ""))
    assert simulated["points_awarded"] == 25 and not Member.objects.filter(external_id="walk-in").exists()
    result = event_record(data=event("walk-in", "review", paris(2026, 5, 4, 12), "w1"))
    assert result["points_awarded"] == 25
    assert member("walk-in").balance == 25


# --- batches ---------------------------------------------------------------------------------------


def test_batch_answers_in_order_and_a_bad_item_does_not_sink_the_others(brand):
    for data in PURCHASE_RULES:
        rule_create(data=data)
    member_upsert(external_id="b1", data={})
    member_upsert(external_id="a2", data={})
    items = [
        purchase("b1", paris(2026, 5, 4, 10), "e1", "300", featured="100"),
        event("b1", "teleport", paris(2026, 5, 4, 10), "e2"),
        purchase("a2", paris(2026, 5, 4, 10), "e3", "-5"),
        purchase("b1", paris(2026, 5, 4, 11), "e4", "300"),  # the day's limit: 100 left after e1
        purchase("a2", paris(2026, 5, 4, 10), "e5", "20"),
        purchase("b1", paris(2026, 5, 4, 10), "e1", "300", featured="100"),  # sent twice in the batch
        event("ghost", "review", paris(2026, 5, 4, 10), "e6"),
        event("b1", "refund", paris(2026, 5, 5, 10), "e7", original_event="e4"),
    ]
    results = events_record_batch(items=items)
    assert [r["id"] for r in results] == ["e1", "e2", "e3", "e4", "e5", "e1", "e6", "e7"]
    assert results[0]["points_awarded"] == 400 and results[0]["replayed"] is False
    error = results[1]["error"]
    assert isinstance(error, InvalidInput)
    assert (error.field, error.message) == ("type", "'teleport' is not an event type of this programme")
    assert results[2]["error"].field == "attributes.amount"
    assert results[3]["points_awarded"] == 100
    assert results[4]["points_awarded"] == 20
    assert results[5] == {**results[0], "replayed": True}
    assert isinstance(results[6]["error"], NotFound)
    assert results[7]["points_awarded"] == -100
    assert set(ActivityEvent.objects.values_list("idempotency_key", flat=True)) == {"e1", "e4", "e5", "e7"}
    assert member("b1").balance == 400 and member("a2").balance == 20
    assert_ledger_consistent("b1")


def test_batch_over_the_maximum_is_refused_whole(brand):
    member_upsert(external_id="m", data={})
    items = [event("m", "review", paris(2026, 5, 4, 10), f"k{i}") for i in range(BATCH_MAX + 1)]
    with pytest.raises(InvalidInput) as raised:
        events_record_batch(items=items)
    assert raised.value.field == "events"
    assert not ActivityEvent.objects.exists()


# --- simulator and hooks ---------------------------------------------------------------------------


def test_simulator_answers_like_recording_and_writes_nothing(brand):
    rep = get_user_model().objects.create_user(username="rep-cy", password="x", is_staff=True)
    for data in PURCHASE_RULES:
        rule_create(data=data)
    rule_create(
        data={
            "name": "Rep bonus",
            "event_type": "purchase",
            "points": 7,
            "beneficiary": "sales_rep",
            "global_budget": 100,
            "limit_period": "week",
            "limit_points": 50,
        }
    )
    created, _ = member_upsert(external_id="sim", data={})
    Member.objects.filter(pk=created.pk).update(sales_rep=rep)
    event_record(data=purchase("sim", paris(2026, 5, 4, 9), "before", "450"))
    data = purchase("sim", paris(2026, 5, 4, 10), "next", "120", featured="20")
    before = counts()
    with CaptureQueriesContext(connection) as queries:
        simulated = event_simulate(data=data)
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert not any("FOR UPDATE" in q["sql"] for q in queries)
    assert counts() == before
    assert simulated["simulated"] is True
    assert [line["applied"] for line in simulated["trace"]] == [True, True, True]
    recorded = event_record(data=data)
    assert simulated["awards"] == recorded["awards"]
    assert (simulated["points_awarded"], simulated["balance"]) == (
        recorded["points_awarded"],
        recorded["balance"],
    )
    assert (
        event_simulate(data=data)["replayed"] is True
    )  # the key is now taken: that is what a send would get


def test_refund_simulation_writes_nothing(brand):
    rule_create(data=PER_EURO)
    member_upsert(external_id="r", data={})
    event_record(data=purchase("r", paris(2026, 5, 4, 10), "buy", "60"))
    before = counts()
    simulated = event_simulate(data=event("r", "refund", paris(2026, 5, 5, 10), "", original_event="buy"))
    assert simulated["points_awarded"] == -60 and simulated["balance"] == 0
    assert counts() == before
    assert ActivityEvent.objects.get(idempotency_key="buy").reversed_at is None


def test_tiers_and_badges_follow_each_event(brand):
    ProgrammeSettings.objects.filter(id=1).update(tier_metric="points_earned", tier_window="lifetime")
    silver = Tier.objects.create(code="silver", name="Silver", threshold=Decimal("300"))
    Badge.objects.create(code="watchdog", name="Watchdog", event_type="damage_report", count_required=2)
    rule_create(data={"name": "Damage report", "event_type": "damage_report", "points": 200})
    member_upsert(external_id="eyes", data={})
    event_record(data=event("eyes", "damage_report", paris(2026, 5, 4, 10), "d1", vehicle="AB-123-CD"))
    assert member("eyes").tier_id is None and not MemberBadge.objects.exists()
    event_record(data=event("eyes", "damage_report", paris(2026, 5, 4, 11), "d2", vehicle="EF-456-GH"))
    assert member("eyes").tier_id == silver.pk
    assert MemberBadge.objects.filter(member__external_id="eyes", badge__code="watchdog").exists()
    _refund("eyes", "undo", "d2")
    assert member("eyes").tier_id is None  # the refund took the qualifying points back


def test_a_batch_evaluates_each_members_tier_and_badges_once(brand):
    from loyalty.services.badges import badge_save
    from loyalty.services.tiers import tier_create

    ProgrammeSettings.objects.filter(id=1).update(tier_metric="points_earned", tier_window="lifetime")
    tier_create(data={"code": "gold", "name": "Gold", "threshold": "100"})
    badge_save(data={"code": "buyer", "name": "Buyer", "event_type": "purchase", "count_required": 3})
    rule_create(data=PER_EURO)
    member_upsert(external_id="busy", data={})
    member_upsert(external_id="calm", data={})
    items = [purchase("busy", paris(2026, 5, 4, 10, minute), f"b-{minute}", "30.00") for minute in range(5)]
    items.append(event("calm", "damage_report", paris(2026, 5, 4, 11), "calm-1"))
    with CaptureQueriesContext(connection) as queries:
        results = events_record_batch(items=items)
    assert [r["points_awarded"] for r in results] == [30, 30, 30, 30, 30, 0]
    tier_statements = [q for q in queries.captured_queries if "WITH tiers AS" in q["sql"]]
    assert len(tier_statements) == 1, "one tier evaluation for busy; none for calm (no points, no metric)"
    assert member("busy").tier.code == "gold" and member("calm").tier is None
    assert list(MemberBadge.objects.values_list("member__external_id", "badge__code")) == [("busy", "buyer")]
    assert_ledger_consistent("busy")


def test_concurrent_plain_batches_in_opposite_orders_keep_every_limit_and_balance(fresh_brand):
    """Batches written set-based (rules paying the member, no budget), meeting on the same members:
    the day's limit holds across both, every balance is the sum of its entries."""
    connection.set_tenant(fresh_brand)
    for data in PURCHASE_RULES:
        rule_create(data=data)
    for index in range(20):
        member_upsert(external_id=f"m{index:02d}", data={})
    batches = [
        [purchase(f"m{i:02d}", paris(2026, 5, 4, 12), f"fwd-{i}", "300") for i in range(20)],
        [purchase(f"m{i:02d}", paris(2026, 5, 4, 13), f"back-{i}", "300") for i in reversed(range(20))],
    ]
    results = _in_threads(fresh_brand, 2, lambda i: events_record_batch(items=batches[i]))
    connection.set_tenant(fresh_brand)
    for index in range(20):
        given = sorted(
            r["points_awarded"] for batch in results for r in batch if r["member"] == f"m{index:02d}"
        )
        assert given == [200, 300], "500 a day: whichever batch came second got what was left"
        assert member(f"m{index:02d}").balance == 500
        assert_ledger_consistent(f"m{index:02d}")


def test_a_key_stored_meanwhile_by_a_concurrent_sender_falls_back_to_one_by_one(fresh_brand):
    """The set-based write meets a key another transaction inserted after the batch looked: the
    batch goes on item by item; that item is a conflict (another member's event), the rest earn."""
    connection.set_tenant(fresh_brand)
    for data in PURCHASE_RULES:
        rule_create(data=data)
    for external_id in ("holder", "x1", "x2"):
        member_upsert(external_id=external_id, data={})
    started = threading.Event()

    def work(index: int):
        if index == 0:
            with transaction.atomic():
                event_record(data=purchase("holder", paris(2026, 5, 4, 10), "shared", "10"))
                started.set()
                time.sleep(1.0)  # the batch reads the stored keys meanwhile, then waits on our insert
            return None
        started.wait(5)
        return events_record_batch(
            items=[
                purchase("x1", paris(2026, 5, 4, 10), "mine-1", "40"),
                purchase("x2", paris(2026, 5, 4, 10), "shared", "10"),
                purchase("x2", paris(2026, 5, 4, 11), "mine-2", "60"),
            ]
        )

    _, results = _in_threads(fresh_brand, 2, work)
    connection.set_tenant(fresh_brand)
    assert results[0]["points_awarded"] == 40 and results[2]["points_awarded"] == 60
    assert domain_error_status(results[1]["error"]) == 409
    assert ActivityEvent.objects.get(idempotency_key="shared").member.external_id == "holder"
    for external_id, balance in (("holder", 10), ("x1", 40), ("x2", 60)):
        assert member(external_id).balance == balance
        assert_ledger_consistent(external_id)


def test_a_batch_over_more_members_than_a_chunk_keeps_each_members_events_together(brand):
    """A batch goes by chunks of members, one transaction each: a member's events, even sent far
    apart, land in one chunk and in the order sent (the day's limit counts the first one)."""
    for data in PURCHASE_RULES:
        rule_create(data=data)
    count = BATCH_CHUNK_MEMBERS + 50
    for index in range(count):
        member_upsert(external_id=f"c{index:03d}", data={})
    items = [purchase(f"c{i:03d}", paris(2026, 5, 4, 9), f"first-{i}", "300") for i in range(count)]
    items += [purchase(f"c{i:03d}", paris(2026, 5, 4, 10), f"then-{i}", "300") for i in range(count)]
    results = events_record_batch(items=items)
    assert [r["id"] for r in results] == [item.idempotency_key for item in items]
    assert [r["points_awarded"] for r in results] == [300] * count + [200] * count
    for index in (0, BATCH_CHUNK_MEMBERS - 1, BATCH_CHUNK_MEMBERS, count - 1):
        assert member(f"c{index:03d}").balance == 500
        assert_ledger_consistent(f"c{index:03d}")
    again = events_record_batch(items=items)
    assert all(r.get("replayed") for r in again), "committed chunks replay, they do not earn again"
    assert LedgerEntry.objects.filter(event__idempotency_key__startswith="then-").count() == count


def test_a_batch_commits_chunk_by_chunk_each_members_events_in_one(fresh_brand, monkeypatch):
    """Seen from the database: a chunk is one transaction (its events share their xmin), a member's
    events are all in one, and a chunk the database refuses answers 503 per item while the others
    are committed; sent again, the batch replays what was written and records the rest."""
    connection.set_tenant(fresh_brand)
    monkeypatch.setattr(events_pipeline, "BATCH_CHUNK_MEMBERS", 2)
    for data in PURCHASE_RULES:
        rule_create(data=data)
    external_ids = [f"k{index}" for index in range(5)]
    for external_id in external_ids:
        member_upsert(external_id=external_id, data={})
    refused = member("k2").pk
    with connection.cursor() as cursor:  # the database refuses k2's credits, whatever the caller
        cursor.execute(
            f"""CREATE FUNCTION refuse_k2() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.member_id = {refused} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER refuse_k2 BEFORE INSERT ON loyalty_ledgerentry
                FOR EACH ROW EXECUTE FUNCTION refuse_k2()"""
        )
    items = [purchase(m, paris(2026, 5, 4, 9), f"{m}-a", "300") for m in external_ids]
    items += [purchase(m, paris(2026, 5, 4, 10), f"{m}-b", "300") for m in reversed(external_ids)]
    results = {result["id"]: result for result in events_record_batch(items=items)}
    chunk_mate = {"k0": "k1", "k1": "k0", "k2": "k3", "k3": "k2", "k4": "k4"}  # by external id, 2 a chunk
    for m in external_ids:
        if chunk_mate[m] == "k2" or m == "k2":
            assert isinstance(results[f"{m}-a"]["error"], NotRecorded)
            assert isinstance(results[f"{m}-b"]["error"], NotRecorded)
        else:
            assert (results[f"{m}-a"]["points_awarded"], results[f"{m}-b"]["points_awarded"]) == (300, 200)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT m.external_id, e.xmin::text
               FROM loyalty_activityevent e JOIN loyalty_member m ON m.id = e.member_id"""
        )
        transactions: dict[str, set[str]] = {}
        for external_id, xmin in cursor.fetchall():
            transactions.setdefault(external_id, set()).add(xmin)
        cursor.execute("DROP TRIGGER refuse_k2 ON loyalty_ledgerentry; DROP FUNCTION refuse_k2()")
    assert sorted(transactions) == ["k0", "k1", "k4"], "nothing of the refused chunk is left"
    assert transactions["k0"] == transactions["k1"] != transactions["k4"]
    assert all(len(xmins) == 1 for xmins in transactions.values())
    again = {result["id"]: result for result in events_record_batch(items=items)}
    assert all(again[f"{m}-a"].get("replayed") for m in ("k0", "k1", "k4"))
    assert [again[f"{m}-a"]["points_awarded"] for m in ("k2", "k3")] == [300, 300]
    assert not again["k2-a"].get("replayed")
    for m in external_ids:
        assert member(m).balance == 500
        assert_ledger_consistent(m)


def test_a_single_event_asks_one_statement_per_step(brand):
    """With the programme compiled: the member locked (with the stored key, the programme's
    revision and an id drawn for the event), the day's usage of the capped rule, then the event,
    its entry, lot and the balance together; nothing more."""
    for data in PURCHASE_RULES:
        rule_create(data=data)
    member_upsert(external_id="one", data={})
    assert purchase_points("one", paris(2026, 5, 4, 9), "first", "10") == 10
    with CaptureQueriesContext(connection) as queries:
        assert purchase_points("one", paris(2026, 5, 4, 10), "second", "20") == 20
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements == ["SAVEPOINT", "SELECT", "SELECT", "WITH", "RELEASE"], statements
    write = queries.captured_queries[3]["sql"]
    assert all(table in write for table in ("loyalty_activityevent", "loyalty_pointlot", "loyalty_member"))
    stored = ActivityEvent.objects.get(idempotency_key="second")
    assert list(stored.entries.values_list("points", flat=True)) == [20]
    assert member("one").balance == 30
    assert_ledger_consistent("one")


def test_a_plain_batch_is_written_set_based(brand):
    """The number of queries does not grow with the batch: events, entries, lots and balances are
    each written by one statement (a big batch's rows go by COPY, after one query drawing their ids),
    and the programme, compiled once, is not read again."""
    for data in PURCHASE_RULES:
        rule_create(data=data)
    for index in range(40):
        member_upsert(external_id=f"s{index:02d}", data={})
    small = [purchase(f"s{i:02d}", paris(2026, 5, 3, 9), f"w{i}", "10") for i in range(4)]
    with CaptureQueriesContext(connection) as warm:
        events_record_batch(items=small)
    with CaptureQueriesContext(connection) as few:
        events_record_batch(
            items=[purchase(f"s{i:02d}", paris(2026, 5, 3, 10), f"x{i}", "10") for i in range(4)]
        )
    assert len(few.captured_queries) < len(warm.captured_queries)  # the programme came from the cache
    items = [purchase(f"s{i % 40:02d}", paris(2026, 5, 4, 9 + i // 40), f"k{i}", "300") for i in range(80)]
    with CaptureQueriesContext(connection) as queries:
        results = events_record_batch(items=items)
    sql = "\n".join(q["sql"][:100] for q in queries.captured_queries)
    assert len(queries.captured_queries) <= len(few.captured_queries) + 3, sql  # + ids drawn for COPY
    assert sum("nextval" in q["sql"] for q in queries.captured_queries) == 3, sql
    assert [r["points_awarded"] for r in results] == [300] * 40 + [200] * 40  # 500 a day, in order
    assert LedgerEntry.objects.filter(event__idempotency_key__startswith="k").count() == 80
    for index in range(40):
        assert member(f"s{index:02d}").balance == 500 + (20 if index < 4 else 0)  # + the first two
        assert_ledger_consistent(f"s{index:02d}")
