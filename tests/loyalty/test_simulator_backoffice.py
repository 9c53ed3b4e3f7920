"""The backoffice of earning rules: the rule page with its simulator (which writes nothing), the
simulator of the live rules, the rule form (the services' validation), deleting a rule that gave
points, and event types."""

from __future__ import annotations

import html
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from loyalty.models import ActivityEvent, EarningRule, EventType, LedgerEntry, Member, PointLot
from loyalty.rule_examples import SUBURB_TO_PARIS_HAPPY_HOUR as HAPPY_HOUR_TRIP
from loyalty.services.events import EventInput, event_record
from loyalty.services.members import member_upsert
from loyalty.services.rules import rule_create

RULES = "/backoffice/loyalty/earningrule/"


def page(response) -> str:
    return html.unescape(response.content.decode())


def simulate(
    client, url: str, *, member="rider", event_type="trip", when="2026-05-04T19:30", attributes="{}"
):
    return client.post(
        url,
        {
            "_simulate": "1",
            "sim-member": member,
            "sim-event_type": event_type,
            "sim-occurred_at": when,
            "sim-attributes": attributes,
        },
    )


def written() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (ActivityEvent, LedgerEntry, PointLot, Member))


def test_rule_page_simulates_the_rule_before_it_goes_live_and_writes_nothing(staff_a):
    rule = rule_create(data={**HAPPY_HOUR_TRIP, "is_active": False})
    member_upsert(external_id="rider", data={})
    url = f"{RULES}{rule.pk}/change/"
    shown = staff_a.get(url)
    assert shown.status_code == 200
    assert 'name="sim-member"' in page(shown) and "Simulator" in page(shown)

    before, updated_at = written(), rule.updated_at
    # 19:30 in the brand's timezone (Paris), zone 3 to zone 1: the rule gives 200 points.
    response = simulate(staff_a, url, attributes='{"zone_from": 3, "zone_to": 1}')
    assert response.status_code == 200
    content = page(response)
    assert "200 points for rider" in content
    # Why, in short: the condition, its bounds, the value compared (to the second) and the outcome.
    assert (
        "local_time between ['18:00', '22:00'] (low bound included, high bound excluded): 19:30:00 (holds)"
        in content
    )
    assert '"local_time"' in content and '"actual": "19:30:00"' in content  # and in full
    assert written() == before
    rule.refresh_from_db()
    assert (rule.is_active, rule.updated_at, rule.name) == (False, updated_at, HAPPY_HOUR_TRIP["name"])

    # Outside the window: nothing, and why.
    response = simulate(staff_a, url, when="2026-05-04T22:15", attributes='{"zone_from": 3, "zone_to": 1}')
    content = page(response)
    assert "0 points for rider" in content
    assert "condition on local_time does not hold" in content
    assert written() == before


def test_simulator_takes_seconds_and_the_trace_shows_the_time_compared(staff_a):
    rule = rule_create(data=HAPPY_HOUR_TRIP)
    member_upsert(external_id="rider", data={})
    shown = page(staff_a.get(f"{RULES}simulate/"))
    assert 'step="1"' in shown  # the time field takes seconds
    until_22_included = {**HAPPY_HOUR_TRIP["conditions"][2], "inclusive": [True, True]}
    late = rule_create(data={**HAPPY_HOUR_TRIP, "name": "Late", "conditions": [until_22_included]})
    response = staff_a.post(
        f"{RULES}simulate/",
        {
            "sim-member": "rider",
            "sim-event_type": "trip",
            "sim-occurred_at": "2026-05-04T21:59:59",
            "sim-attributes": '{"zone_from": 2, "zone_to": 1}',
        },
    )
    content = page(response)
    assert f"{late.points} points for rider" in content
    # The rules considered, each with its conditions and the value compared, to the second.
    assert "attributes.zone_from in [3, 4]: 2 (does not hold)" in content
    assert (
        "local_time between ['18:00', '22:00'] (low bound included, high bound included): 21:59:59 (holds)"
        in content
    )
    assert rule.name in content


def _rule_fields(rule_data: dict, **changes: str) -> dict:
    """The rule's form as the page posts it (the simulator's fields belong to that form)."""
    fields = _form(
        name=rule_data["name"],
        event_type=rule_data["event_type"],
        conditions=json.dumps(rule_data["conditions"]),
        points=str(rule_data["points"]),
    )
    fields.pop("is_active")
    return {**fields, **changes}


def test_rule_page_simulates_the_rule_as_edited_keeps_the_edits_and_saves_nothing(staff_a):
    rule = rule_create(data={**HAPPY_HOUR_TRIP, "is_active": False})
    member_upsert(external_id="rider", data={})
    url = f"{RULES}{rule.pk}/change/"
    before, updated_at = written(), rule.updated_at
    response = staff_a.post(
        url,
        {
            **_rule_fields(HAPPY_HOUR_TRIP, points="350", name="Happy hour, more"),
            "_simulate": "1",
            "sim-member": "rider",
            "sim-event_type": "trip",
            "sim-occurred_at": "2026-05-04T19:30",
            "sim-attributes": '{"zone_from": 3, "zone_to": 1}',
        },
    )
    assert response.status_code == 200
    content = page(response)
    assert "350 points for rider" in content  # the edited award, not the saved 200
    assert 'name="points" value="350"' in content and 'value="Happy hour, more"' in content  # kept
    rule.refresh_from_db()
    assert (rule.points, rule.name, rule.updated_at) == (200, HAPPY_HOUR_TRIP["name"], updated_at)
    assert written() == before


def test_rule_page_simulation_keeps_the_rules_period(staff_a):
    """The page posts the period as split date and time fields: the simulation must read them (it
    tried the rule without its period, and the page came back with the period emptied)."""
    rule = rule_create(
        data={**HAPPY_HOUR_TRIP, "active_from": "2026-05-01T00:00", "active_until": "2026-06-01T00:00"}
    )
    member_upsert(external_id="rider", data={})
    period = {
        "active_from_0": "2026-05-01",
        "active_from_1": "00:00:00",
        "active_until_0": "2026-06-01",
        "active_until_1": "00:00:00",
    }

    def simulate_edited(when: str):
        return page(
            staff_a.post(
                f"{RULES}{rule.pk}/change/",
                {
                    **_rule_fields(HAPPY_HOUR_TRIP, points="350", **period),
                    "_simulate": "1",
                    "sim-member": "rider",
                    "sim-event_type": "trip",
                    "sim-occurred_at": when,
                    "sim-attributes": '{"zone_from": 3, "zone_to": 1}',
                },
            )
        )

    inside = simulate_edited("2026-05-04T19:30")
    assert "350 points for rider" in inside
    assert 'name="active_from_0" value="2026-05-01"' in inside  # still on the page
    after = simulate_edited("2026-07-06T19:30")
    assert "0 points for rider" in after
    assert "the rule is not active at the event's time" in after
    rule.refresh_from_db()
    assert rule.points == 200 and rule.active_from is not None


def test_rule_page_does_not_simulate_an_invalid_edit_and_says_why(staff_a):
    rule = rule_create(data=HAPPY_HOUR_TRIP)
    member_upsert(external_id="rider", data={})
    before = written()
    response = staff_a.post(
        f"{RULES}{rule.pk}/change/",
        {
            **_rule_fields(HAPPY_HOUR_TRIP, points="0"),
            "_simulate": "1",
            "sim-member": "rider",
            "sim-event_type": "trip",
            "sim-occurred_at": "2026-05-04T19:30",
            "sim-attributes": "{}",
        },
    )
    content = page(response)
    assert "The rule as edited is not valid, so it was not simulated" in content
    assert "points: a fixed award needs points (1 or more)" in content
    assert "points for rider" not in content
    assert 'name="points" value="0"' in content  # the edit stays on the page, with its error
    rule.refresh_from_db()
    assert rule.points == 200
    assert written() == before


def test_simulator_of_the_live_rules_ignores_inactive_ones(staff_a):
    rule_create(data={**HAPPY_HOUR_TRIP, "is_active": False})
    rule_create(data={**HAPPY_HOUR_TRIP, "name": "Zone 2", "points": 100, "conditions": []})
    member_upsert(external_id="rider", data={})
    changelist = staff_a.get(RULES)
    assert f"{RULES}simulate/" in page(changelist)
    assert staff_a.get(f"{RULES}simulate/").status_code == 200
    before = written()
    content = page(simulate(staff_a, f"{RULES}simulate/", attributes='{"zone_from": 3, "zone_to": 1}'))
    assert "100 points for rider" in content
    assert "the rule is not active at the event's time" in content
    assert written() == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"member": "nobody"}, "no member with external id 'nobody'"),
        ({"attributes": '{"start": "yesterday"}'}, "attributes.start: must be an ISO 8601 date"),
        ({"attributes": "{not json"}, "Enter a valid JSON."),
        ({"when": "soon"}, "Enter a valid date/time."),
    ],
)
def test_simulator_shows_what_is_wrong(staff_a, fields, message):
    rule = rule_create(data=HAPPY_HOUR_TRIP)
    member_upsert(external_id="rider", data={})
    before = written()
    response = simulate(staff_a, f"{RULES}{rule.pk}/change/", **fields)
    assert response.status_code == 200
    assert message in page(response)
    assert written() == before


def _form(**fields) -> dict:
    return {
        "name": "Reviews",
        "event_type": "review",
        "priority": "100",
        "is_active": "on",
        "conditions": "[]",
        "item_conditions": "[]",
        "award_type": "fixed",
        "points": "30",
        "points_per_unit": "0",
        "rounding": "down",
        "multiplier": "1",
        "percent": "0",
        "limit_period": "",
        "limit_points": "",
        "max_points_per_event": "",
        "global_budget": "",
        "beneficiary": "member",
        "active_from_0": "",
        "active_from_1": "",
        "active_until_0": "",
        "active_until_1": "",
        **fields,
    }


def test_rule_form_validates_like_the_api(staff_a):
    bad = staff_a.post(
        f"{RULES}add/",
        _form(conditions='[{"field": "local_time", "op": "equals", "value": "18:00"}]', limit_points="50"),
    )
    assert bad.status_code == 200
    content = page(bad)
    assert "conditions[0].op: 'equals' does not apply to local_time" in content
    assert "a limit of points needs its period" in content
    assert not EarningRule.objects.exists()

    good = staff_a.post(f"{RULES}add/", _form(limit_period="day", limit_points="50"))
    assert good.status_code == 302
    rule = EarningRule.objects.get()
    assert (rule.name, rule.points, rule.limit_period, rule.limit_points) == ("Reviews", 30, "day", 50)
    changed = staff_a.post(
        f"{RULES}{rule.pk}/change/", _form(points="45", limit_period="day", limit_points="50")
    )
    assert changed.status_code == 302
    rule.refresh_from_db()
    assert rule.points == 45


def test_rule_form_takes_a_percentage_award_for_the_sales_rep(staff_a):
    rep_share = _form(award_type="percentage", points="0", percent="10", beneficiary="sales_rep")
    page_shown = page(staff_a.get(f"{RULES}add/"))
    assert 'name="percent"' in page_shown and '"inclusive": [low, high]' in page_shown
    for percent, message in (
        ("150", "less than or equal to 100"),
        ("0", "a percentage award needs a percent"),
    ):
        bad = staff_a.post(f"{RULES}add/", {**rep_share, "percent": percent})
        assert bad.status_code == 200 and message in page(bad)
    assert "a percentage award pays the sales rep" in page(
        staff_a.post(f"{RULES}add/", {**rep_share, "beneficiary": "member"})
    )
    assert not EarningRule.objects.exists()
    assert staff_a.post(f"{RULES}add/", rep_share).status_code == 302
    rule = EarningRule.objects.get()
    assert (rule.award_type, rule.percent, rule.beneficiary) == ("percentage", 10, "sales_rep")


def test_deleting_a_rule_that_gave_points_deactivates_it(staff_a):
    rule = rule_create(data={**HAPPY_HOUR_TRIP, "conditions": []})
    member_upsert(external_id="rider", data={})
    at = datetime(2026, 5, 4, 19, tzinfo=ZoneInfo("Europe/Paris"))
    event_record(data=EventInput("rider", "trip", at, {}, "t1"))
    confirm = staff_a.get(f"{RULES}{rule.pk}/delete/")
    assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
    response = staff_a.post(f"{RULES}{rule.pk}/delete/", {"post": "yes"}, follow=True)
    assert "already gave points, so it is deactivated rather than deleted" in page(response)
    rule.refresh_from_db()
    assert rule.is_active is False
    unused = rule_create(data={**HAPPY_HOUR_TRIP, "name": "unused"})
    staff_a.post(f"{RULES}{unused.pk}/delete/", {"post": "yes"})
    assert not EarningRule.objects.filter(pk=unused.pk).exists()


def test_event_types_can_be_added_and_a_used_one_is_kept(staff_a):
    response = staff_a.post(
        "/backoffice/loyalty/eventtype/add/", {"code": "helped", "name": "Helped a member", "description": ""}
    )
    assert response.status_code == 302
    helped = EventType.objects.get(code="helped")
    assert staff_a.get(f"/backoffice/loyalty/eventtype/{helped.pk}/delete/").status_code == 200
    rule_create(data={"name": "Helping", "event_type": "helped", "points": 5})
    assert staff_a.get(f"/backoffice/loyalty/eventtype/{helped.pk}/delete/").status_code == 403
    staff_a.post(
        "/backoffice/loyalty/eventtype/",
        {"action": "delete_selected", "_selected_action": [helped.pk], "post": "yes"},
    )
    assert EventType.objects.filter(code="helped").exists()
    assert "helped" in page(staff_a.get("/backoffice/loyalty/eventtype/"))
