"""The audit trail of configuration changed through the API and of manual adjustments: each names
the API key, the address, and the values before and after."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.models import ApiKey, AuditEntry
from loyalty.rule_examples import POINT_PER_EURO

ADDRESS = "127.0.0.1"


@pytest.fixture
def api(api_a, in_a):
    return api_a


def _key_label() -> str:
    key = ApiKey.objects.get()
    return f"API key {key.name} ({key.prefix})"


def _entries(model: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(content_type__model=model).order_by("id"))


def _assert_by_the_key(entries: list[AuditEntry]) -> None:
    assert entries
    for entry in entries:
        assert (entry.via, entry.actor, entry.actor_label, entry.ip) == ("api", None, _key_label(), ADDRESS)


def test_programme_settings(api):
    assert api.send("patch", "/api/v1/programme", {"programme_name": "Club API"}).status_code == 200
    (entry,) = _entries("programmesettings")
    _assert_by_the_key([entry])
    assert entry.action == "change" and entry.after == {"programme_name": "Club API"}
    assert set(entry.before) == {"programme_name"}


def test_earning_rules(api):
    rule = api.post("/api/v1/rules", POINT_PER_EURO).json()
    body = {**POINT_PER_EURO, "points_per_unit": "2"}
    assert api.put(f"/api/v1/rules/{rule['id']}", body).status_code == 200
    assert api.send("delete", f"/api/v1/rules/{rule['id']}").status_code == 204
    created, changed, deleted = _entries("earningrule")
    _assert_by_the_key([created, changed, deleted])
    assert (created.action, created.after["name"], created.object_id) == (
        "create",
        "1 point per euro",
        str(rule["id"]),
    )
    assert (changed.action, set(changed.before), set(changed.after)) == (
        "change",
        {"points_per_unit"},
        {"points_per_unit"},
    )
    assert Decimal(changed.before["points_per_unit"]) == 1 and Decimal(changed.after["points_per_unit"]) == 2
    assert (deleted.action, deleted.before["name"]) == ("delete", "1 point per euro")


def test_tiers(api):
    assert api.post("/api/v1/tiers", {"code": "gold", "name": "Gold", "threshold": 1000}).status_code == 201
    assert (
        api.put("/api/v1/tiers/gold", {"code": "gold", "name": "Gold", "threshold": 1500}).status_code == 200
    )
    assert api.send("delete", "/api/v1/tiers/gold").status_code == 204
    created, changed, deleted = _entries("tier")
    _assert_by_the_key([created, changed, deleted])
    assert [created.action, changed.action, deleted.action] == ["create", "change", "delete"]
    assert (changed.before, changed.after) == ({"threshold": "1000.00"}, {"threshold": "1500.00"})
    assert deleted.before["code"] == "gold"


def test_gifts(api):
    gift = api.post("/api/v1/gifts", {"reference": "KET-1", "name": "Kettle", "points_price": 900}).json()
    assert api.send("patch", f"/api/v1/gifts/{gift['id']}", {"points_price": 1000}).status_code == 200
    assert api.send("delete", f"/api/v1/gifts/{gift['id']}").status_code in (200, 204)
    created, changed, archived = _entries("gift")
    _assert_by_the_key([created, changed, archived])
    assert created.action == "create" and created.after["reference"] == "KET-1"
    assert (changed.before, changed.after) == ({"points_price": 900}, {"points_price": 1000})
    assert archived.action == "change" and archived.reason == "archived"
    assert archived.before["archived_at"] is None and archived.after["archived_at"]


def test_themes(api):
    assert api.send("patch", "/api/v1/theme", {"accent_color": "#ffd000"}).status_code == 200
    (entry,) = _entries("theme")
    _assert_by_the_key([entry])
    assert entry.action == "change" and entry.after == {"accent_color": "#ffd000"}


def test_message_templates(api):
    url = "/api/v1/message-templates"
    body = {"code": "welcome", "channel": "sms", "language": "en", "name": "Welcome", "body": "Hi"}
    template = api.post(url, body).json()
    assert api.put(f"{url}/{template['id']}", {**body, "body": "Hello"}).status_code == 200
    assert api.send("delete", f"{url}/{template['id']}").status_code == 204
    created, changed, deleted = _entries("messagetemplate")
    _assert_by_the_key([created, changed, deleted])
    assert (changed.before, changed.after) == ({"body": "Hi"}, {"body": "Hello"})
    assert deleted.action == "delete" and deleted.before["code"] == "welcome"


def test_a_manual_adjustment_has_the_balance_before_and_after(api):
    assert api.put("/api/v1/members/AUD-1", {}).status_code in (200, 201)
    body = {"points": 50, "reason": "goodwill"}
    assert api.post("/api/v1/members/AUD-1/adjustments", body).status_code == 201
    assert api.post("/api/v1/members/AUD-1/adjustments", {"points": -20, "reason": "typo"}).status_code == 201
    first, second = _entries("member")[-2:]
    _assert_by_the_key([first, second])
    assert (first.action, first.object_repr, first.reason) == ("adjust", "AUD-1", "goodwill")
    assert (first.before, {k: first.after[k] for k in ("balance", "points")}) == (
        {"balance": 0},
        {"balance": 50, "points": 50},
    )
    assert (second.before["balance"], second.after["balance"], second.after["points"]) == (50, 30, -20)


def test_an_adjustment_sent_again_is_recorded_once(api):
    api.put("/api/v1/members/AUD-2", {})
    body = {"points": 5, "reason": "welcome"}
    for _ in range(2):
        api.post("/api/v1/members/AUD-2/adjustments", body, headers={"Idempotency-Key": "aud-2"})
    assert AuditEntry.objects.filter(action="adjust").count() == 1


def test_a_refused_change_records_nothing(api):
    assert api.post("/api/v1/tiers", {"code": "gold", "name": "", "threshold": 10}).status_code == 400
    assert api.post("/api/v1/members/NOBODY/adjustments", {"points": 5, "reason": "x"}).status_code == 404
    assert not AuditEntry.objects.exclude(content_type__model="apikey").exists()
