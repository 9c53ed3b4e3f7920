"""`/api/v1/message-triggers` and the backoffice's trigger page: one kind on one channel set with
its template, checked by the same service; bad inputs answered 4xx naming the field, nothing
written."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from messaging.models import Trigger
from tests.factories import template_make
from tests.support import error_of

pytestmark = pytest.mark.django_db(transaction=False)

URL = "/api/v1/message-triggers"


def _templates(brand) -> None:
    with schema_context(brand.schema_name):
        template_make("earned", channel="sms", body="+{{ points_earned }}")
        template_make("expiring", channel="voice", body="{{ points_expiring }} points")


def _count(brand) -> int:
    with schema_context(brand.schema_name):
        return Trigger.objects.count()


def test_set_list_read_and_switch_off(api_a):
    _templates(api_a.brand)
    assert api_a.get(URL).json() == []
    created = api_a.put(f"{URL}/points_earned/sms", {"template_code": "earned", "is_active": True})
    assert created.status_code == 201, created.content
    body = created.json()
    assert {key: body[key] for key in ("kind", "channel", "template_code", "is_active", "days")} == {
        "kind": "points_earned",
        "channel": "sms",
        "template_code": "earned",
        "is_active": True,
        "days": None,
    }
    expiring = api_a.put(
        f"{URL}/points_expiring/voice", {"template_code": "expiring", "is_active": True, "days": 7}
    )
    assert expiring.status_code == 201 and expiring.json()["days"] == 7
    assert [(t["kind"], t["channel"]) for t in api_a.get(URL).json()] == [
        ("points_earned", "sms"),
        ("points_expiring", "voice"),
    ]
    off = api_a.put(f"{URL}/points_earned/sms", {"template_code": "earned", "is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert api_a.get(f"{URL}/points_earned/sms").json()["is_active"] is False
    assert _count(api_a.brand) == 2


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("points_earned/sms", {"template_code": "nope", "is_active": True}, "template_code"),
        # A template of that code exists, but on another channel.
        ("points_earned/email", {"template_code": "earned", "is_active": True}, "template_code"),
        ("points_earned/post", {"template_code": "earned", "is_active": True}, "channel"),
        ("points_earned/fax", {"template_code": "earned", "is_active": True}, "channel"),
        ("points_won/sms", {"template_code": "earned", "is_active": True}, "kind"),
        ("points_expiring/voice", {"template_code": "expiring", "is_active": True}, "days"),
        ("points_expiring/voice", {"template_code": "expiring", "is_active": True, "days": 0}, "days"),
        ("points_expiring/voice", {"template_code": "expiring", "is_active": True, "days": 400}, "days"),
        ("points_earned/sms", {"template_code": "earned", "is_active": True, "days": 3}, "days"),
        ("points_earned/sms", {"template_code": "earned", "is_active": "yes please"}, "is_active"),
        ("points_earned/sms", {"is_active": True}, "template_code"),
        ("points_earned/sms", {"template_code": "earned", "is_active": True, "days": "soon"}, "days"),
    ],
)
def test_bad_inputs_are_a_400_naming_the_field_and_write_nothing(api_a, path, body, field):
    _templates(api_a.brand)
    error = error_of(api_a.put(f"{URL}/{path}", body), 400)
    assert error["field"] == field, error
    assert _count(api_a.brand) == 0


def test_a_body_that_is_not_an_object_and_an_unknown_trigger(api_a):
    assert error_of(api_a.put(f"{URL}/points_earned/sms", ["earned"]), 400)["field"] == "body"
    assert error_of(api_a.get(f"{URL}/welcome/sms"), 404)["field"] == "kind"
    assert error_of(api_a.get(f"{URL}/nothing/sms"), 404)["field"] == "kind"


def test_the_backoffice_refuses_a_template_of_another_channel_on_its_field(staff_a, brand_a):
    connection.set_tenant(brand_a)
    template_make("earned", channel="sms", body="+{{ points_earned }}")
    add = "/backoffice/messaging/trigger/add/"
    assert staff_a.get(add).status_code == 200
    form = {"kind": "points_earned", "channel": "email", "template_code": "earned", "is_active": "on"}
    refused = staff_a.post(add, form)
    assert refused.status_code == 200
    assert "template_code" in refused.context["adminform"].form.errors
    assert not Trigger.objects.exists()

    saved = staff_a.post(add, {**form, "channel": "sms"})
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    trigger = Trigger.objects.get()
    assert (trigger.kind, trigger.channel, trigger.is_active) == ("points_earned", "sms", True)
    changed = staff_a.post(f"/backoffice/messaging/trigger/{trigger.pk}/change/", {**form, "channel": "sms"})
    assert changed.status_code == 302
    assert staff_a.get("/backoffice/messaging/trigger/").status_code == 200
