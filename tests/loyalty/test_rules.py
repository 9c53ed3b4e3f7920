"""Earning rules as data: one validation (`rule_validate`) for the backoffice and the API, each error
naming its field; create, update, and delete (deactivate once the rule gave points)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from core.errors import InvalidInput
from loyalty.models import EarningRule, LedgerEntry
from loyalty.rule_examples import REP_TEN_PERCENT_OF_FEATURED, SUBURB_TO_PARIS_HAPPY_HOUR
from loyalty.services.events import EventInput, event_record
from loyalty.services.members import member_upsert
from loyalty.services.rules import rule_create, rule_delete, rule_update, rule_validate

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def brand(db, brand_a):
    connection.set_tenant(brand_a)
    return brand_a


def errors_of(data: dict, instance: EarningRule | None = None) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as raised:
        rule_validate(data=data, instance=instance)
    return raised.value.errors


def test_a_valid_rule_is_created_as_given(brand):
    rule = rule_create(data=SUBURB_TO_PARIS_HAPPY_HOUR)
    rule.refresh_from_db()
    assert (rule.name, rule.event_type, rule.points, rule.conditions) == (
        SUBURB_TO_PARIS_HAPPY_HOUR["name"],
        "trip",
        200,
        SUBURB_TO_PARIS_HAPPY_HOUR["conditions"],
    )
    assert rule.is_active and rule.budget_used == 0


def test_values_from_json_are_converted(brand):
    cleaned = rule_validate(
        data={
            "name": "Per euro",
            "event_type": "purchase",
            "award_type": "per_amount",
            "points_per_unit": "1.5",
            "rounding": "nearest",
            "limit_period": "day",
            "limit_points": "500",
            "active_from": "2026-04-01T00:00:00",  # no offset: the brand's timezone
            "active_until": "2026-05-01T00:00:00+00:00",
        }
    )
    assert cleaned["points_per_unit"] == Decimal("1.5")
    assert cleaned["limit_points"] == 500
    assert cleaned["active_from"] == datetime(2026, 4, 1, tzinfo=PARIS)
    assert cleaned["active_until"].utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "This field cannot be blank."),
        ({"event_type": "teleport"}, "event_type", "'teleport' is not an event type of this programme"),
        ({"event_type": "refund"}, "event_type", "a refund reverses what its original event earned"),
        ({"award_type": "bonus"}, "award_type", "Value 'bonus' is not a valid choice."),
        ({"points": 0}, "points", "a fixed award needs points (1 or more)"),
        ({"points": "many"}, "points", "“many” value must be an integer."),
        ({"points": -5}, "points", "a fixed award needs points (1 or more)"),
        ({"conditions": {"field": "amount"}}, "conditions", 'conditions must be a list of {"field"'),
        (
            {"conditions": [{"field": "attributes.zone_to", "op": "~=", "value": 1}]},
            "conditions",
            "conditions[0].op: '~=' does not apply to attributes.zone_to",
        ),
        (
            {"conditions": [{"field": "local_time", "op": "between", "value": ["6pm", "10pm"]}]},
            "conditions",
            "conditions[0].value: '6pm' is not a time such as '18:30'",
        ),
        (
            {"conditions": [{"field": "os.system", "op": "equals", "value": "rm"}]},
            "conditions",
            "conditions[0].field: 'os.system' is not a field",
        ),
        (
            {"item_conditions": [{"field": "category", "op": "equals"}]},
            "item_conditions",
            'item_conditions[0]: needs exactly the keys "field", "op" and "value"',
        ),
        ({"limit_period": "day"}, "limit_points", "a limit per day needs its number of points"),
        ({"limit_points": 500}, "limit_period", "a limit of points needs its period"),
        (
            {"limit_period": "fortnight", "limit_points": 5},
            "limit_period",
            "Value 'fortnight' is not a valid choice.",
        ),
        ({"max_points_per_event": 0}, "max_points_per_event", "must be 1 or more"),
        ({"global_budget": -1}, "global_budget", "Ensure this value is greater than or equal to 0."),
        ({"beneficiary": "friend"}, "beneficiary", "Value 'friend' is not a valid choice."),
        ({"rounding": "banker"}, "rounding", "Value 'banker' is not a valid choice."),
        ({"multiplier": "2"}, "multiplier", "only a multiplier award uses a multiplier"),
        (
            {"points_per_unit": "1"},
            "points_per_unit",
            "only a per-amount award uses points per currency unit",
        ),
        ({"percent": "10"}, "percent", "only a percentage award uses a percent"),
        (
            {"conditions": [{"field": "amount", "op": "gte", "value": 1000, "inclusive": [False, True]}]},
            "conditions",
            "conditions[0].inclusive: only 'between' has bounds to include or exclude",
        ),
        (
            {"conditions": [{"field": "amount", "op": "between", "value": [1, 2], "inclusive": "open"}]},
            "conditions",
            "conditions[0].inclusive: must be two booleans [low included, high included]",
        ),
        ({"budget_used": 0}, "budget_used", "is kept by the engine"),
        ({"colour": "red"}, "colour", "is not a rule field"),
        ({"active_from": "next monday"}, "active_from", "“next monday” value has an invalid format."),
        ({"active_from": 20260501}, "active_from", "must be a date and time (ISO 8601"),  # was a 500
        ({"active_until": ["2026-05-01"]}, "active_until", "must be a date and time (ISO 8601"),
        (
            {"active_from": "2026-05-01T00:00:00+02:00", "active_until": "2026-04-01T00:00:00+02:00"},
            "active_until",
            "must be after active_from",
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_field(brand, change, field, message):
    errors = errors_of({**SUBURB_TO_PARIS_HAPPY_HOUR, **change})
    assert field in errors, errors
    assert errors[field][0].startswith(message), errors[field]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({}, "multiplier", "a multiplier award needs a multiplier above 0 and other than 1"),
        ({"multiplier": "0"}, "multiplier", "a multiplier award needs a multiplier above 0"),
        (
            {"multiplier": "2", "limit_period": "day", "limit_points": 5},
            "limit_period",
            "a multiplier is capped",
        ),
        ({"multiplier": "2", "global_budget": 500}, "global_budget", "a multiplier is capped"),
        ({"multiplier": "2", "max_points_per_event": 9}, "max_points_per_event", "a multiplier is capped"),
        ({"multiplier": "2", "apply_tier_multiplier": True}, "apply_tier_multiplier", "applies to the rules"),
        ({"multiplier": "2", "points": 3}, "points", "only fixed and per-item awards use points"),
    ],
)
def test_multiplier_rules(brand, change, field, message):
    base = {"name": "Double", "event_type": "purchase", "award_type": "multiplier", **change}
    errors = errors_of(base)
    assert errors[field][0].startswith(message), errors


def test_per_amount_needs_points_per_unit(brand):
    errors = errors_of({"name": "x", "event_type": "purchase", "award_type": "per_amount"})
    assert errors == {"points_per_unit": ["a per-amount award needs points per currency unit (more than 0)"]}


def test_several_errors_at_once(brand):
    errors = errors_of({"name": "", "event_type": "nope", "points": 0, "limit_points": 3})
    assert set(errors) == {"name", "event_type", "points", "limit_period"}


def test_update_changes_only_the_fields_given_and_keeps_the_budget_used(brand):
    rule = rule_create(data={**SUBURB_TO_PARIS_HAPPY_HOUR, "global_budget": 1000})
    EarningRule.objects.filter(pk=rule.pk).update(budget_used=600)
    updated = rule_update(rule=rule, data={"points": 150, "priority": 5})
    updated.refresh_from_db()
    assert (updated.points, updated.priority, updated.name, updated.budget_used) == (
        150,
        5,
        SUBURB_TO_PARIS_HAPPY_HOUR["name"],
        600,
    )
    assert rule_update(rule=rule, data={"global_budget": 600}).global_budget == 600
    with pytest.raises(InvalidInput) as raised:
        rule_update(rule=rule, data={"global_budget": 599})
    assert raised.value.errors == {"global_budget": ["600 points of this budget are already given"]}
    with pytest.raises(InvalidInput):
        rule_update(rule=rule, data={"conditions": [{"field": "amount", "op": "contains", "value": 1}]})
    rule.refresh_from_db()
    assert rule.conditions == SUBURB_TO_PARIS_HAPPY_HOUR["conditions"]


def test_the_database_refuses_an_overspent_budget(brand):
    rule = rule_create(data={**SUBURB_TO_PARIS_HAPPY_HOUR, "global_budget": 100})
    with pytest.raises(IntegrityError), transaction.atomic():
        EarningRule.objects.filter(pk=rule.pk).update(budget_used=101)


def test_delete_removes_a_rule_that_never_gave_points(brand):
    rule = rule_create(data=SUBURB_TO_PARIS_HAPPY_HOUR)
    rule_delete(rule=rule)
    assert not EarningRule.objects.filter(pk=rule.pk).exists()


def test_delete_deactivates_a_rule_that_gave_points(brand):
    rule = rule_create(data={**SUBURB_TO_PARIS_HAPPY_HOUR, "conditions": []})
    member_upsert(external_id="rider-1", data={})
    result = event_record(
        data=EventInput(
            member="rider-1",
            type="trip",
            occurred_at=datetime(2026, 5, 4, 19, tzinfo=PARIS),
            attributes={},
            idempotency_key="trip-delete-1",
        )
    )
    assert result["points_awarded"] == 200
    rule_delete(rule=rule)
    rule.refresh_from_db()
    assert rule.is_active is False
    assert LedgerEntry.objects.filter(rule=rule).count() == 1
    # An inactive rule earns nothing more.
    again = event_record(
        data=EventInput(
            member="rider-1",
            type="trip",
            occurred_at=datetime(2026, 5, 4, 20, tzinfo=PARIS),
            attributes={},
            idempotency_key="trip-delete-2",
        )
    )
    assert again["points_awarded"] == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"percent": "0"}, "percent", "a percentage award needs a percent above 0 (at most 100)"),
        ({"percent": "10.125"}, "percent", "Ensure that there are no more than 2 decimal places."),
        ({"percent": "101"}, "percent", "Ensure this value is less than or equal to 100."),
        ({"percent": "-5"}, "percent", "Ensure this value is greater than or equal to 0."),
        ({"percent": "ten"}, "percent", "“ten” value must be a decimal number."),
        ({"beneficiary": "member"}, "beneficiary", "a percentage award pays the sales rep"),
        ({"points": 5}, "points", "only fixed and per-item awards use points"),
        ({"multiplier": "2"}, "multiplier", "only a multiplier award uses a multiplier"),
    ],
)
def test_bad_percentage_awards_are_refused_naming_the_field(brand, change, field, message):
    errors = errors_of({**REP_TEN_PERCENT_OF_FEATURED, **change})
    assert field in errors, errors
    assert errors[field][0].startswith(message), errors[field]


def test_a_percentage_award_is_kept_as_given(brand):
    rule = rule_create(data={**REP_TEN_PERCENT_OF_FEATURED, "percent": "12.5"})
    rule.refresh_from_db()
    assert (rule.award_type, rule.percent, rule.beneficiary) == ("percentage", Decimal("12.5"), "sales_rep")


def test_the_database_refuses_a_percent_out_of_range(brand):
    rule = rule_create(data=REP_TEN_PERCENT_OF_FEATURED)
    with pytest.raises(IntegrityError), transaction.atomic():
        EarningRule.objects.filter(pk=rule.pk).update(percent=Decimal("100.5"))
