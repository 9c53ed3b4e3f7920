"""The rules engine itself (`loyalty.engine`): conditions, time windows in the brand's timezone
(across midnight and daylight-saving changes), awards, multipliers, rounding, priority, stop_after,
active windows. Rules here are unsaved `EarningRule` rows: the engine only reads them. Limits,
budgets and segments need the ledger, so they are tested through the services (test_events.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyalty.engine import (
    Beneficiary,
    FactsError,
    Lookups,
    MemberFacts,
    conditions_problems,
    event_facts,
    period_bounds,
    rules_compile,
    rules_evaluate,
)
from loyalty.models import EarningRule

PARIS = ZoneInfo("Europe/Paris")
MEMBER = MemberFacts(
    id=1, external_id="m1", kind="customer", tier_code="gold", tags=("wine", "b2b"), is_vip=False
)
ME = Beneficiary(kind="member", member_id=1, external_id="m1", tier_multiplier=Decimal("1.5"))
REP = Beneficiary(kind="sales_rep", member_id=2, external_id="staff:rep", tier_multiplier=Decimal("1"))


def _not_needed(*args):
    raise AssertionError("these rules have no limit, budget or segment: the engine must not look them up")


NO_LOOKUPS = Lookups(usage=_not_needed, budget_left=_not_needed, in_segment=_not_needed)


def rule(pk: int, **fields) -> EarningRule:
    values = {"name": f"rule {pk}", "event_type": "trip", "award_type": "fixed", "points": 10, **fields}
    return EarningRule(pk=pk, **values)


def evaluate(rules, *, at, attributes=None, member=MEMBER, rep=None, type="trip", lookups=NO_LOOKUPS):
    facts = event_facts(type=type, occurred_at=at, attributes=attributes or {}, tz=PARIS, currency="EUR")
    return rules_evaluate(
        rules=rules_compile(rules),
        event=facts,
        member=member,
        beneficiaries={"member": ME, "sales_rep": rep},
        lookups=lookups,
    )


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cond(field, op, value) -> dict:
    return {"field": field, "op": op, "value": value}


# --- conditions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        (cond("attributes.zone", "equals", 3), True),
        (cond("attributes.zone", "equals", "3"), True),  # numbers compare as numbers
        (cond("attributes.zone", "equals", 4), False),
        (cond("attributes.zone", "not_equals", 4), True),
        (cond("attributes.zone", "in", [3, 4]), True),
        (cond("attributes.zone", "in", [1, 2]), False),
        (cond("attributes.zone", "not_in", [1, 2]), True),
        (cond("attributes.zone", "gt", 2), True),
        (cond("attributes.zone", "gt", 3), False),
        (cond("attributes.zone", "gte", 3), True),
        (cond("attributes.zone", "lt", 3), False),
        (cond("attributes.zone", "lte", 3), True),
        (cond("attributes.zone", "between", [3, 5]), True),
        (cond("attributes.zone", "between", [4, 5]), False),
        (cond("attributes.label", "contains", "damage"), True),
        (cond("attributes.label", "contains", "wheel"), False),
        (cond("attributes.tags", "contains", "eco"), True),
        (cond("attributes.car.kind", "equals", "electric"), True),  # nested attributes
        (cond("attributes.missing", "not_equals", 1), False),  # a missing attribute fails every condition
        (cond("attributes.label", "gt", 1), False),  # text is not ordered against numbers
        (cond("amount", "gte", "12.50"), True),
        (cond("amount", "gt", "12.50"), False),
        (cond("currency", "equals", "EUR"), True),
        (cond("member.tier", "in", ["gold", "silver"]), True),
        (cond("member.tier", "equals", "silver"), False),
        (cond("member.kind", "equals", "customer"), True),
        (cond("member.tags", "contains", "wine"), True),
        (cond("member.tags", "in", ["beer", "b2b"]), True),
        (cond("member.tags", "not_in", ["beer", "b2b"]), False),
        (cond("member.vip", "equals", True), False),
        (cond("member.vip", "not_equals", True), True),
    ],
)
def test_condition_operators(condition, holds):
    attributes = {
        "zone": 3,
        "label": "damage report",
        "tags": ["eco", "city"],
        "car": {"kind": "electric"},
        "amount": "12.50",
    }
    result = evaluate([rule(1, conditions=[condition])], at=paris(2026, 5, 4, 12), attributes=attributes)
    assert result.points == (10 if holds else 0)
    line = result.trace[0]
    assert line["conditions"][0]["holds"] is holds
    if not holds:
        assert line["reason"] == f"condition on {condition['field']} does not hold"


def test_all_conditions_must_hold_and_the_explanation_lists_them():
    conditions = [cond("attributes.zone_from", "in", [3, 4]), cond("attributes.zone_to", "equals", 1)]
    result = evaluate(
        [rule(1, conditions=conditions)], at=paris(2026, 5, 4, 12), attributes={"zone_from": 4, "zone_to": 1}
    )
    award = result.awards[0]
    assert award.points == 10
    assert award.explanation["conditions"] == [
        {"field": "attributes.zone_from", "op": "in", "value": [3, 4], "actual": 4, "holds": True},
        {"field": "attributes.zone_to", "op": "equals", "value": 1, "actual": 1, "holds": True},
    ]
    assert award.explanation["computation"] == {"award": "fixed", "points": 10}
    assert (
        evaluate(
            [rule(1, conditions=conditions)],
            at=paris(2026, 5, 4, 12),
            attributes={"zone_from": 4, "zone_to": 2},
        ).points
        == 0
    )


@pytest.mark.parametrize(
    ("local", "holds"),
    [((17, 59), False), ((18, 0), True), ((21, 59), True), ((22, 0), False)],
)
def test_local_time_window_includes_its_start_not_its_end(local, holds):
    window = [cond("local_time", "between", ["18:00", "22:00"])]
    assert evaluate([rule(1, conditions=window)], at=paris(2026, 5, 4, *local)).points == (10 if holds else 0)


@pytest.mark.parametrize(
    ("at", "holds"),
    [
        (paris(2026, 5, 4, 21, 59), False),
        (paris(2026, 5, 4, 22, 0), True),
        (paris(2026, 5, 4, 23, 59), True),
        (paris(2026, 5, 5, 0, 0), True),
        (paris(2026, 5, 5, 1, 59), True),
        (paris(2026, 5, 5, 2, 0), False),
        (paris(2026, 5, 5, 12, 0), False),
    ],
)
def test_local_time_window_across_midnight(at, holds):
    window = [cond("local_time", "between", ["22:00", "02:00"])]
    assert evaluate([rule(1, conditions=window)], at=at).points == (10 if holds else 0)


@pytest.mark.parametrize(
    ("at", "local", "holds"),
    [
        # 28 March 2026, Paris is UTC+1: 20:30Z is 21:30, inside 18:00-22:00.
        (utc(2026, 3, 28, 20, 30), "21:30:00", True),
        # 29 March 2026, the clocks went forward at 02:00 (UTC+2): the same 20:30Z is 22:30, outside.
        (utc(2026, 3, 29, 20, 30), "22:30:00", False),
        (utc(2026, 3, 29, 16, 0), "18:00:00", True),
        (utc(2026, 3, 29, 15, 59), "17:59:00", False),
        # 25 October 2026, back to UTC+1 at 03:00: 16:30Z is 17:30, outside; 17:00Z is 18:00, inside.
        (utc(2026, 10, 24, 16, 30), "18:30:00", True),
        (utc(2026, 10, 25, 16, 30), "17:30:00", False),
        (utc(2026, 10, 25, 17, 0), "18:00:00", True),
        (utc(2026, 10, 25, 20, 59), "21:59:00", True),
        (utc(2026, 10, 25, 21, 0), "22:00:00", False),
    ],
)
def test_happy_hour_follows_daylight_saving_in_the_brand_timezone(at, local, holds):
    window = [cond("local_time", "between", ["18:00", "22:00"])]
    result = evaluate([rule(1, conditions=window)], at=at)
    assert result.trace[0]["conditions"][0]["actual"] == local
    assert result.points == (10 if holds else 0)


@pytest.mark.parametrize(
    ("at", "local", "holds"),
    [
        # The night the clocks go forward (29 March 2026): 02:00-03:00 does not exist.
        (utc(2026, 3, 28, 21, 0), "22:00:00", True),
        (utc(2026, 3, 29, 0, 59), "01:59:00", True),
        (utc(2026, 3, 29, 1, 0), "03:00:00", False),  # one minute later by the clock on the wall
        # The night they go back (25 October 2026): 02:00-03:00 happens twice, both outside.
        (utc(2026, 10, 24, 23, 59), "01:59:00", True),
        (utc(2026, 10, 25, 0, 0), "02:00:00", False),
        (utc(2026, 10, 25, 1, 0), "02:00:00", False),
        (utc(2026, 10, 25, 1, 30), "02:30:00", False),
    ],
)
def test_window_across_midnight_on_daylight_saving_nights(at, local, holds):
    window = [cond("local_time", "between", ["22:00", "02:00"])]
    result = evaluate([rule(1, conditions=window)], at=at)
    assert result.trace[0]["conditions"][0]["actual"] == local
    assert result.points == (10 if holds else 0)


def test_weekday_and_date_are_local():
    # 22:30Z on Sunday 29 March 2026 is 00:30 on Monday 30 March in Paris.
    at = utc(2026, 3, 29, 22, 30)
    assert evaluate([rule(1, conditions=[cond("weekday", "in", ["mon", "tue"])])], at=at).points == 10
    assert evaluate([rule(1, conditions=[cond("weekday", "equals", 7)])], at=at).points == 0
    assert evaluate([rule(1, conditions=[cond("date", "equals", "2026-03-30")])], at=at).points == 10
    in_range = [cond("date", "between", ["2026-03-30", "2026-04-05"])]
    assert evaluate([rule(1, conditions=in_range)], at=at).points == 10
    assert evaluate([rule(1, conditions=in_range)], at=utc(2026, 3, 29, 21, 30)).points == 0


def test_day_period_is_23_or_25_hours_on_daylight_saving_days():
    start, end = period_bounds(period="day", local=paris(2026, 3, 29, 12))
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    start, end = period_bounds(period="day", local=paris(2026, 10, 25, 12))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)
    week = period_bounds(period="week", local=paris(2026, 4, 2, 12))  # a Thursday
    assert (week[0].date().isoformat(), week[1].date().isoformat()) == ("2026-03-30", "2026-04-06")
    month = period_bounds(period="month", local=paris(2026, 12, 31, 23, 30))
    assert (month[0].isoformat(), month[1].isoformat()) == (
        "2026-12-01T00:00:00+01:00",
        "2027-01-01T00:00:00+01:00",
    )
    year = period_bounds(period="year", local=paris(2026, 7, 1))
    assert (year[0].date().isoformat(), year[1].date().isoformat()) == ("2026-01-01", "2027-01-01")


def test_member_segment_condition_asks_the_lookup():
    asked = []

    def in_segment(name: str) -> bool:
        asked.append(name)
        return name == "big spenders"

    lookups = Lookups(usage=_not_needed, budget_left=_not_needed, in_segment=in_segment)
    yes = rule(1, conditions=[cond("member.segment", "in", ["lapsed", "big spenders"])])
    no = rule(2, conditions=[cond("member.segment", "not_equals", "big spenders")])
    result = evaluate([yes, no], at=paris(2026, 5, 4, 12), lookups=lookups)
    assert [award.rule.pk for award in result.awards] == [1]
    assert result.trace[0]["conditions"][0]["actual"] == ["big spenders"]
    assert asked == ["lapsed", "big spenders", "big spenders"]


# --- awards ----------------------------------------------------------------------------------------

BASKET = {
    "amount": "250.00",
    "items": [
        {"sku": "A", "category": "featured", "quantity": 2, "unit_price": "50.00"},
        {"sku": "B", "category": "wine", "quantity": 1, "unit_price": "120.00"},
        {"sku": "C", "category": "featured", "quantity": 3, "unit_price": "10.00"},
    ],
}


@pytest.mark.parametrize(("rounding", "points"), [("down", 12), ("nearest", 13), ("up", 13)])
def test_points_per_currency_unit_with_rounding(rounding, points):
    per_euro = rule(1, award_type="per_amount", points=0, points_per_unit=Decimal("0.1"), rounding=rounding)
    result = evaluate([per_euro], at=paris(2026, 5, 4, 12), attributes={"amount": "125.50"}, type="purchase")
    assert result.points == points
    explanation = result.awards[0].explanation
    assert explanation["computation"]["basis"] == "125.5"
    assert explanation["computed"] == {"amount": "12.55", "rounding": rounding, "points": points}


def test_nearest_rounds_half_up():
    per_euro = rule(1, award_type="per_amount", points=0, points_per_unit=Decimal("1"), rounding="nearest")
    assert evaluate([per_euro], at=paris(2026, 5, 4, 12), attributes={"amount": "10.50"}).points == 11
    assert evaluate([per_euro], at=paris(2026, 5, 4, 12), attributes={"amount": "10.49"}).points == 10


def test_per_amount_on_matching_items_only():
    featured = rule(
        1,
        award_type="per_amount",
        points=0,
        points_per_unit=Decimal("2"),
        item_conditions=[cond("category", "equals", "featured")],
    )
    result = evaluate([featured], at=paris(2026, 5, 4, 12), attributes=BASKET, type="purchase")
    assert result.points == 260  # 2 points per euro on 100 + 30 EUR of featured items
    assert result.awards[0].explanation["item_conditions"]["matching_items"] == [0, 2]
    assert result.awards[0].explanation["computation"]["basis"] == "130"


def test_points_per_matching_item_count_quantities():
    per_item = rule(
        1, award_type="per_item", points=5, item_conditions=[cond("category", "in", ["featured"])]
    )
    assert evaluate([per_item], at=paris(2026, 5, 4, 12), attributes=BASKET).points == 25
    every_item = rule(1, award_type="per_item", points=5)
    assert evaluate([every_item], at=paris(2026, 5, 4, 12), attributes=BASKET).points == 30
    result = evaluate(
        [per_item], at=paris(2026, 5, 4, 12), attributes={"items": [{"sku": "Z", "category": "x"}]}
    )
    assert result.points == 0
    assert result.trace[0]["reason"] == "no item meets the item conditions"


def test_double_on_featured_multiplies_only_the_featured_part():
    per_euro = rule(1, award_type="per_amount", points=0, points_per_unit=Decimal("1"), priority=10)
    double = rule(
        2,
        award_type="multiplier",
        points=0,
        multiplier=Decimal("2"),
        priority=20,
        item_conditions=[cond("category", "equals", "featured")],
    )
    result = evaluate([double, per_euro], at=paris(2026, 5, 4, 12), attributes=BASKET, type="purchase")
    # 250 EUR at 1 point, and the 130 EUR of featured items once more: one award, of the base rule.
    assert [(award.rule.pk, award.points) for award in result.awards] == [(1, 380)]
    assert result.awards[0].explanation["multipliers"] == [
        {
            "rule": {"id": 2, "name": "rule 2"},
            "multiplier": "2",
            "items": [0, 2],
            "before": "250",
            "after": "380",
        }
    ]


def test_multiplier_of_everything_compounds_and_needs_an_earlier_award():
    base = rule(1, points=100, priority=1)
    times_two = rule(2, award_type="multiplier", points=0, multiplier=Decimal("2"), priority=2)
    and_a_half = rule(3, award_type="multiplier", points=0, multiplier=Decimal("1.5"), priority=3)
    assert evaluate([base, times_two, and_a_half], at=paris(2026, 5, 4, 12)).points == 300
    # A multiplier only multiplies what rules before it gave.
    early = rule(2, award_type="multiplier", points=0, multiplier=Decimal("2"), priority=0)
    result = evaluate([base, early], at=paris(2026, 5, 4, 12))
    assert result.points == 100
    assert result.trace[0]["reason"] == "no earlier rule gave points to multiply"


def test_multiplier_applies_to_the_same_beneficiary_only():
    for_member = rule(1, points=100, priority=1)
    for_rep = rule(2, points=10, priority=2, beneficiary="sales_rep")
    rep_bonus = rule(
        3, award_type="multiplier", points=0, multiplier=Decimal("3"), priority=3, beneficiary="sales_rep"
    )
    result = evaluate([for_member, for_rep, rep_bonus], at=paris(2026, 5, 4, 12), rep=REP)
    assert [(a.beneficiary.external_id, a.points) for a in result.awards] == [("m1", 100), ("staff:rep", 30)]


def test_tier_multiplier_and_max_points_per_event():
    boosted = rule(1, points=101, apply_tier_multiplier=True)
    result = evaluate([boosted], at=paris(2026, 5, 4, 12))
    assert result.points == 151  # 101 x 1.5 = 151.5, rounded down
    assert result.awards[0].explanation["tier_multiplier"] == "1.5"
    capped = rule(1, points=101, apply_tier_multiplier=True, max_points_per_event=120)
    result = evaluate([capped], at=paris(2026, 5, 4, 12))
    assert result.points == 120
    assert result.awards[0].explanation["caps"] == [
        {"cap": "max_points_per_event", "limit": 120, "before": 151, "after": 120}
    ]


def test_priority_orders_rules_and_stop_after_ends_the_run():
    first = rule(1, points=1, priority=10, stop_after=True)
    second = rule(2, points=2, priority=20)
    before_first = rule(3, points=4, priority=5)
    result = evaluate([second, first, before_first], at=paris(2026, 5, 4, 12))
    assert [award.rule.pk for award in result.awards] == [3, 1]
    assert [line["rule"]["id"] for line in result.trace] == [3, 1]
    assert result.trace[1]["stopped_here"] is True
    # stop_after counts only when its rule applied.
    not_matching = rule(
        1, points=1, priority=10, stop_after=True, conditions=[cond("attributes.x", "equals", 1)]
    )
    assert [a.rule.pk for a in evaluate([not_matching, second], at=paris(2026, 5, 4, 12)).awards] == [2]


def test_inactive_and_out_of_window_rules_do_not_apply():
    at = paris(2026, 5, 4, 12)
    assert evaluate([rule(1, is_active=False)], at=at).points == 0
    assert evaluate([rule(1, active_from=paris(2026, 5, 4, 12, 1))], at=at).points == 0
    assert evaluate([rule(1, active_until=at)], at=at).points == 0  # the end is excluded
    assert evaluate([rule(1, active_from=at, active_until=paris(2026, 6, 1))], at=at).points == 10
    assert (
        evaluate([rule(1, is_active=False)], at=at).trace[0]["reason"]
        == "the rule is not active at the event's time"
    )


def test_sales_rep_rule_without_a_rep_is_skipped_with_the_reason():
    result = evaluate([rule(1, beneficiary="sales_rep")], at=paris(2026, 5, 4, 12), rep=None)
    assert result.points == 0
    assert result.trace[0]["reason"] == "the member has no sales rep"


def test_per_amount_without_amount_is_skipped():
    result = evaluate(
        [rule(1, award_type="per_amount", points=0, points_per_unit=Decimal("1"))], at=paris(2026, 5, 4, 12)
    )
    assert result.points == 0
    assert result.trace[0]["reason"] == "the event has no amount"


# --- facts and condition structure -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"amount": "-1"}, "attributes.amount"),
        ({"amount": "twelve"}, "attributes.amount"),
        ({"amount": True}, "attributes.amount"),
        ({"amount": "NaN"}, "attributes.amount"),
        ({"amount": 1, "currency": "USD"}, "attributes.currency"),
        ({"currency": "eur"}, "attributes.currency"),
        ({"start": "yesterday"}, "attributes.start"),
        ({"end": "2026-13-01"}, "attributes.end"),
        ({"delivered_at": 12}, "attributes.delivered_at"),
        ({"start": "2026-03-29T18:00:00+02:00", "end": "2026-03-29T17:00:00+02:00"}, "attributes.end"),
        ({"items": {"sku": "A"}}, "attributes.items"),
        ({"items": [{"sku": "A", "quantity": 0}]}, "attributes.items[0].quantity"),
        ({"items": [{"sku": "A"}, {"sku": "B", "unit_price": "-2"}]}, "attributes.items[1].unit_price"),
        ({"items": [{"sku": ["A"]}]}, "attributes.items[0].sku"),
        ({"items": ["A"]}, "attributes.items[0]"),
    ],
)
def test_malformed_attributes_name_the_field(attributes, field):
    with pytest.raises(FactsError) as error:
        event_facts(
            type="purchase",
            occurred_at=paris(2026, 5, 4, 12),
            attributes=attributes,
            tz=PARIS,
            currency="EUR",
        )
    assert error.value.field == field


def test_well_formed_date_attributes_pass():
    facts = event_facts(
        type="trip",
        occurred_at=paris(2026, 5, 4, 18, 5),
        attributes={
            "start": "2026-05-04T18:05:00+02:00",
            "end": "2026-05-04T18:40:00+02:00",
            "date": "2026-05-04",
        },
        tz=PARIS,
        currency="EUR",
    )
    assert facts.local.isoformat() == "2026-05-04T18:05:00+02:00"


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ("zone = 3", 'must be a list of {"field": ..., "op": ..., "value": ...}'),
        (
            [{"field": "attributes.zone", "op": "equals"}],
            '[0]: needs exactly the keys "field", "op" and "value"',
        ),
        ([cond("zone", "equals", 3)], "[0].field: 'zone' is not a field"),
        ([cond("attributes.zone", "like", 3)], "[0].op: 'like' does not apply to attributes.zone"),
        ([cond("local_time", "equals", "18:00")], "[0].op: 'equals' does not apply to local_time"),
        ([cond("local_time", "between", ["18h", "22h"])], "[0].value: '18h' is not a time such as '18:30'"),
        (
            [cond("local_time", "between", ["18:00", "18:00"])],
            "[0].value: a time window needs two different times",
        ),
        ([cond("attributes.zone", "between", [5, 3])], "[0].value: 'between' needs the lower value first"),
        ([cond("attributes.zone", "between", [3])], "[0].value: 'between' needs a list of two values"),
        ([cond("attributes.zone", "in", [])], "[0].value: 'in' needs a non-empty list"),
        ([cond("attributes.zone", "gt", "high")], "[0].value: 'high' is not a number"),
        ([cond("weekday", "in", ["someday"])], "[0].value: 'someday' is not a weekday"),
        ([cond("date", "gte", "29/03/2026")], "[0].value: '29/03/2026' is not a date"),
        ([cond("member.vip", "equals", "yes")], "[0].value: must be true or false"),
        ([cond("attributes.zone", "equals", {"a": 1})], "[0].value: must be a single value"),
        ([cond("attributes.__import__('os')", "equals", 1)], "[0].field:"),
    ],
)
def test_condition_structure_problems_name_the_condition(conditions, message):
    problems = conditions_problems(conditions)
    assert len(problems) == 1
    assert problems[0].startswith(message), problems


def test_item_condition_fields():
    fine = [
        cond("category", "equals", "featured"),
        cond("unit_price", "gte", 10),
        cond("colour", "in", ["red"]),
    ]
    assert conditions_problems(fine, item=True) == []
    assert conditions_problems([cond("attributes.x", "equals", 1)], item=True)[0].startswith(
        "[0].field: 'attributes.x' is not a field"
    )
    assert conditions_problems([cond("quantity", "contains", 1)], item=True)[0].startswith(
        "[0].op: 'contains' does not apply to quantity"
    )


# --- bounds of `between` ----------------------------------------------------------------------------


def between(field, low, high, inclusive=None) -> dict:
    condition = cond(field, "between", [low, high])
    return condition if inclusive is None else {**condition, "inclusive": inclusive}


@pytest.mark.parametrize(
    ("condition", "amount", "holds"),
    [
        (between("amount", 1000, 5000), "1000", True),  # both bounds included by default
        (between("amount", 1000, 5000), "5000", True),
        (between("amount", 1000, 5000, [False, True]), "1000", False),  # "over 1,000"
        (between("amount", 1000, 5000, [False, True]), "1000.01", True),
        (between("amount", 1000, 5000, [False, True]), "5000", True),
        (between("amount", 1000, 5000, [True, False]), "5000", False),
        (between("amount", 1000, 5000, [True, False]), "4999.99", True),
        (between("attributes.amount", 1000, 5000, [False, False]), "1000", False),
        (between("date", "2026-05-01", "2026-05-04", [True, False]), "", False),  # the event is on the 4th
        (between("date", "2026-05-01", "2026-05-04"), "", True),
    ],
)
def test_between_includes_or_excludes_each_bound(condition, amount, holds):
    attributes = {"amount": amount} if amount else {}
    result = evaluate([rule(1, conditions=[condition])], at=paris(2026, 5, 4, 12), attributes=attributes)
    assert result.points == (10 if holds else 0)
    checked = result.trace[0]["conditions"][0]
    assert checked["inclusive"] == condition.get("inclusive", [True, True])  # traced, default included


@pytest.mark.parametrize(
    ("inclusive", "at", "holds"),
    [
        (None, paris(2026, 5, 4, 22, 0), False),  # a window's end is excluded by default
        (None, paris(2026, 5, 4, 21, 59, 59), True),
        ([True, True], paris(2026, 5, 4, 22, 0), True),
        ([False, False], paris(2026, 5, 4, 18, 0), False),
        ([False, False], paris(2026, 5, 4, 18, 0, 1), True),
    ],
)
def test_time_window_bounds(inclusive, at, holds):
    window = between("local_time", "18:00", "22:00", inclusive)
    result = evaluate([rule(1, conditions=[window])], at=at)
    assert result.points == (10 if holds else 0)
    assert result.trace[0]["conditions"][0]["inclusive"] == (inclusive or [True, False])


def test_window_across_midnight_with_its_end_included():
    night = between("local_time", "22:00", "02:00", [False, True])
    assert evaluate([rule(1, conditions=[night])], at=paris(2026, 5, 4, 22, 0)).points == 0
    assert evaluate([rule(1, conditions=[night])], at=paris(2026, 5, 4, 23, 0)).points == 10
    assert evaluate([rule(1, conditions=[night])], at=paris(2026, 5, 5, 2, 0)).points == 10
    assert evaluate([rule(1, conditions=[night])], at=paris(2026, 5, 5, 2, 0, 1)).points == 0


def test_the_trace_shows_the_time_compared_with_its_seconds():
    window = [cond("local_time", "between", ["22:00", "23:00"])]
    result = evaluate([rule(1, conditions=window)], at=paris(2026, 5, 4, 21, 59, 59))
    assert result.trace[0]["conditions"][0]["actual"] == "21:59:59"
    assert result.trace[0]["reason"] == "condition on local_time does not hold"
    late = evaluate([rule(1, conditions=window)], at=paris(2026, 5, 4, 21, 59, 59, 500000))
    assert late.trace[0]["conditions"][0]["actual"] == "21:59:59.500000"  # as compared, no less


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {**cond("amount", "gt", 1000), "inclusive": [False, True]},
            "[0].inclusive: only 'between' has bounds to include or exclude",
        ),
        (between("amount", 1, 5, [False]), "[0].inclusive: must be two booleans"),
        (between("amount", 1, 5, ["no", True]), "[0].inclusive: must be two booleans"),
        (between("amount", 1, 5, "exclusive"), "[0].inclusive: must be two booleans"),
        (between("amount", 5, 5, [True, False]), "[0].value: equal bounds hold only when both are included"),
        ({**between("amount", 1, 5), "inclusivity": True}, '[0]: needs exactly the keys "field"'),
    ],
)
def test_inclusive_problems_name_the_key(condition, message):
    problems = conditions_problems([condition])
    assert len(problems) == 1
    assert problems[0].startswith(message), problems
    assert conditions_problems([between("amount", 5, 5)]) == []  # [5, 5] with both included: exactly 5


# --- percentage awards (a sales rep's share of what the member earns) --------------------------------

FEATURED = [cond("category", "equals", "featured")]


def tabac_rules(*, multiplier="2", rounding="down", rep_priority=300) -> list[EarningRule]:
    """1 point per euro with the member's tier multiplier, x`multiplier` on featured items, and the
    rep's 10% of what the member earns on featured items."""
    per_euro = rule(
        1,
        award_type="per_amount",
        points=0,
        points_per_unit=Decimal("1"),
        apply_tier_multiplier=True,
        priority=100,
    )
    featured = rule(
        2,
        award_type="multiplier",
        points=0,
        multiplier=Decimal(multiplier),
        item_conditions=FEATURED,
        priority=200,
    )
    rep_share = rule(
        3,
        award_type="percentage",
        points=0,
        percent=Decimal("10"),
        beneficiary="sales_rep",
        item_conditions=FEATURED,
        rounding=rounding,
        priority=rep_priority,
    )
    return [per_euro, featured, rep_share]


def by_beneficiary(result) -> dict[str, int]:
    points: dict[str, int] = {}
    for award in result.awards:
        points[award.beneficiary.kind] = points.get(award.beneficiary.kind, 0) + award.points
    return points


def test_rep_percentage_of_the_member_award_on_matching_items_follows_the_multipliers():
    at = paris(2026, 5, 4, 12)
    result = evaluate(tabac_rules(), at=at, attributes=BASKET, type="purchase", rep=REP)
    # Member: (250 + 130 featured again) x 1.5 = 570; of it, the featured items earned 260 of 380,
    # so 390 points; the rep's 10% is 39.
    assert by_beneficiary(result) == {"member": 570, "sales_rep": 39}
    rep_award = result.awards[1]
    assert rep_award.explanation["computation"] == {
        "award": "percentage",
        "percent": "10",
        "of_member": "m1",
        "items": [0, 2],
        "from": [{"rule": {"id": 1, "name": "rule 1"}, "points": 570, "share": "390"}],
        "basis": "390",
        "raw": "39",
    }
    assert rep_award.explanation["computed"] == {"amount": "39", "rounding": "down", "points": 39}
    assert rep_award.explanation["beneficiary"] == {"kind": "sales_rep", "member": "staff:rep"}
    assert result.trace[2]["points"] == 39 and result.trace[2]["applied"] is True
    # Triple on featured: member (250 + 260) x 1.5 = 765, featured 390 of 510 -> 585; 10% = 58.5,
    # rounded down (floor) by default, up when the rule says so.
    tripled = evaluate(tabac_rules(multiplier="3"), at=at, attributes=BASKET, type="purchase", rep=REP)
    assert by_beneficiary(tripled) == {"member": 765, "sales_rep": 58}
    assert tripled.awards[1].explanation["computed"] == {"amount": "58.5", "rounding": "down", "points": 58}
    up = evaluate(tabac_rules(multiplier="3", rounding="up"), at=at, attributes=BASKET, rep=REP)
    assert by_beneficiary(up)["sales_rep"] == 59


def test_rep_percentage_follows_the_member_tier_multiplier():
    platinum = Beneficiary(kind="member", member_id=1, external_id="m1", tier_multiplier=Decimal("2"))
    facts = event_facts(
        type="purchase", occurred_at=paris(2026, 5, 4, 12), attributes=BASKET, tz=PARIS, currency="EUR"
    )
    result = rules_evaluate(
        rules=rules_compile(tabac_rules()),
        event=facts,
        member=MEMBER,
        beneficiaries={"member": platinum, "sales_rep": REP},
        lookups=NO_LOOKUPS,
    )
    assert by_beneficiary(result) == {"member": 760, "sales_rep": 52}  # 10% of 760 x 260/380


def test_rep_percentage_counts_the_member_awards_of_any_priority_and_is_not_multiplied():
    at = paris(2026, 5, 4, 12)
    first = evaluate(tabac_rules(rep_priority=0), at=at, attributes=BASKET, type="purchase", rep=REP)
    assert by_beneficiary(first) == {"member": 570, "sales_rep": 39}  # the member's awards come later
    rep_multiplier = rule(
        4, award_type="multiplier", points=0, multiplier=Decimal("2"), beneficiary="sales_rep", priority=400
    )
    result = evaluate([*tabac_rules(), rep_multiplier], at=at, attributes=BASKET, rep=REP)
    assert by_beneficiary(result) == {"member": 570, "sales_rep": 39}
    assert result.trace[3]["reason"] == "no earlier rule gave points to multiply"


def test_rep_percentage_without_item_conditions_takes_every_member_award_after_caps():
    fixed = rule(1, points=101, priority=1)
    capped = rule(
        2,
        award_type="per_amount",
        points=0,
        points_per_unit=Decimal("1"),
        max_points_per_event=50,
        priority=2,
    )
    share = rule(3, award_type="percentage", points=0, percent=Decimal("12.5"), beneficiary="sales_rep")
    result = evaluate([fixed, capped, share], at=paris(2026, 5, 4, 12), attributes={"amount": "80"}, rep=REP)
    assert by_beneficiary(result) == {"member": 151, "sales_rep": 18}  # 12.5% of 101 + 50 = 18.875
    computation = result.awards[2].explanation["computation"]
    assert computation["items"] == "all"
    assert [(one["points"], one["share"]) for one in computation["from"]] == [(101, "101"), (50, "50")]


def test_rep_percentage_on_items_the_member_earned_nothing_on_gives_nothing():
    fixed = rule(1, points=100, priority=1)  # a fixed award is on no item
    share = rule(
        2,
        award_type="percentage",
        points=0,
        percent=Decimal("10"),
        beneficiary="sales_rep",
        item_conditions=FEATURED,
    )
    result = evaluate([fixed, share], at=paris(2026, 5, 4, 12), attributes=BASKET, rep=REP)
    assert by_beneficiary(result) == {"member": 100}
    assert result.trace[1] | {"conditions": None} == {
        "rule": {"id": 2, "name": "rule 2"},
        "priority": 100,
        "conditions": None,
        "matching_items": [0, 2],
        "applied": False,
        "reason": "the member earned no points on the matching items",
        "points": 0,
    }
    no_rep = evaluate([fixed, share], at=paris(2026, 5, 4, 12), attributes=BASKET, rep=None)
    assert no_rep.trace[1]["reason"] == "the member has no sales rep"
