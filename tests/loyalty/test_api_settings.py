"""REST API: the programme's settings, read, replaced (PUT, every setting) and changed (PATCH), with
the backoffice's validation (the programme service), reaching the very next event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from loyalty.models import PointLot, ProgrammeSettings
from loyalty.services.programme import EDITABLE_FIELDS
from loyalty.services.rules import rule_create
from tests.support import error_of

EVERY_SETTING = {
    "programme_name": "Miles",
    "points_per_unit": 200,
    "unit_value": "4.50",
    "currency": "usd",
    "expiry_policy": "days",
    "expiry_days": 30,
    "activation_code_days": 30,
    "pending_days": 2,
    "overdraft_limit": 0,
    "auto_create_members": True,
    "signup_open": False,
    "tier_metric": "event_count",
    "tier_metric_event_type": "trip",
    "tier_window": "rolling_months",
    "tier_window_months": 9,
    "tier_downgrade": "grace",
    "tier_grace_days": 30,
    "site_languages": ["fr"],
    "default_language": "fr",
    "vip_spend_amount": "1000.00",
    "vip_spend_months": 9,
}


def _stored() -> dict:
    return model_to_dict(ProgrammeSettings.objects.get(), fields=EDITABLE_FIELDS)


def test_every_setting_the_backoffice_edits_is_read_and_replaced(api_a, in_a):
    response = api_a.get("/api/v1/programme")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {*EDITABLE_FIELDS, "timezone", "updated_at"}
    assert set(EVERY_SETTING) == set(EDITABLE_FIELDS)
    assert (body["points_per_unit"], body["unit_value"], body["timezone"]) == (100, "5.00", "Europe/Paris")

    response = api_a.put("/api/v1/programme", EVERY_SETTING)
    assert response.status_code == 200, response.content
    body = response.json()
    assert {**EVERY_SETTING, "currency": "USD"} == {field: body[field] for field in EDITABLE_FIELDS}
    connection.set_tenant(in_a)
    stored = _stored()
    assert (stored["currency"], stored["tier_downgrade"], stored["expiry_days"]) == ("USD", "grace", 30)
    assert api_a.get("/api/v1/programme").json() == body


def test_patch_changes_the_settings_given_and_validates_them_with_the_others(api_a, in_a):
    response = api_a.send("patch", "/api/v1/programme", {"pending_days": 3, "programme_name": "Club"})
    assert response.status_code == 200, response.content
    assert (response.json()["pending_days"], response.json()["points_per_unit"]) == (3, 100)
    error = error_of(api_a.send("patch", "/api/v1/programme", {"expiry_policy": "days"}), 400)
    assert error["field"] == "expiry_days"  # none set: days need expiry_days, as on the backoffice page
    response = api_a.send("patch", "/api/v1/programme", {"expiry_policy": "days", "expiry_days": 90})
    assert response.status_code == 200, response.content
    response = api_a.send("patch", "/api/v1/programme", {"expiry_policy": "never"})
    assert response.json()["expiry_days"] is None
    connection.set_tenant(in_a)
    assert (_stored()["pending_days"], _stored()["programme_name"]) == (3, "Club")


def test_put_without_every_setting_is_refused_naming_one_and_writes_nothing(api_a, in_a):
    connection.set_tenant(in_a)
    before = _stored()
    partial = {key: value for key, value in EVERY_SETTING.items() if key != "currency"}
    error = error_of(api_a.put("/api/v1/programme", partial), 400)
    assert (error["field"], error["code"]) == ("currency", "required")
    assert "PATCH" in error["message"]
    error = error_of(api_a.put("/api/v1/programme", {}), 400)
    assert set(error["details"]) == set(EDITABLE_FIELDS)
    connection.set_tenant(in_a)
    assert _stored() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"points_per_unit": 0}, "points_per_unit"),
        ({"points_per_unit": 1.5}, "points_per_unit"),
        ({"points_per_unit": "many"}, "points_per_unit"),
        ({"points_per_unit": True}, "points_per_unit"),
        ({"unit_value": 0}, "unit_value"),
        ({"unit_value": "-1"}, "unit_value"),
        ({"unit_value": "5.005"}, "unit_value"),
        ({"currency": "EU"}, "currency"),
        ({"currency": "E1R"}, "currency"),
        ({"currency": ["EUR"]}, "currency"),
        ({"expiry_policy": "weekly"}, "expiry_policy"),
        ({"expiry_policy": "days", "expiry_days": None}, "expiry_days"),
        ({"expiry_policy": "days", "expiry_days": 0}, "expiry_days"),
        ({"pending_days": -1}, "pending_days"),
        ({"overdraft_limit": None}, "overdraft_limit"),
        ({"auto_create_members": "perhaps"}, "auto_create_members"),
        ({"tier_metric": "event_count", "tier_metric_event_type": ""}, "tier_metric_event_type"),
        ({"tier_window": "rolling_months", "tier_window_months": 0}, "tier_window_months"),
        ({"tier_downgrade": "never"}, "tier_downgrade"),
        ({"tier_grace_days": -3}, "tier_grace_days"),
        ({"programme_name": ""}, "programme_name"),
        ({"colour": "red"}, "colour"),
        ({"timezone": "UTC"}, "timezone"),
        ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
    ],
)
def test_bad_settings_are_400_naming_the_field_and_write_nothing(api_a, in_a, change, field):
    connection.set_tenant(in_a)
    before = _stored()
    for method, body in (("put", {**EVERY_SETTING, **change}), ("patch", change)):
        error = error_of(api_a.send(method, "/api/v1/programme", body), 400)
        assert error["field"] == field, (method, error)
    assert error_of(api_a.put("/api/v1/programme", [EVERY_SETTING]), 400)["field"] == "body"
    connection.set_tenant(in_a)
    assert _stored() == before


def test_the_next_event_after_a_change_uses_the_new_expiry_and_pending_days(api_a, in_a):
    rule_create(data={"name": "Review bonus", "event_type": "review", "points": 10})
    api_a.put("/api/v1/members/S-1", {})

    def review(key: str) -> tuple[timedelta | None, timedelta]:
        """The points' life after an event: how long until they expire, until they are spendable."""
        event = {"member": "S-1", "type": "review", "occurred_at": "2026-11-20T19:30:00+01:00"}
        response = api_a.post("/api/v1/events", event, headers={"Idempotency-Key": key})
        assert response.json()["points_awarded"] == 10, response.content
        connection.set_tenant(in_a)
        lot = PointLot.objects.select_related("entry").get(entry__event__idempotency_key=key)
        earned = lot.entry.created_at
        return (lot.expires_at - earned if lot.expires_at else None), lot.available_at - earned

    assert review("before") == (None, timedelta(0))  # the programme is compiled and kept now
    response = api_a.send("patch", "/api/v1/programme", {"expiry_policy": "days", "expiry_days": 30})
    assert response.status_code == 200, response.content
    assert review("after-patch") == (timedelta(days=30), timedelta(0))
    response = api_a.put("/api/v1/programme", {**EVERY_SETTING, "expiry_days": 7, "pending_days": 2})
    assert response.status_code == 200, response.content
    assert review("after-put") == (timedelta(days=7), timedelta(days=2))
