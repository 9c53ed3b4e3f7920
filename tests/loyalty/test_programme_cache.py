"""The compiled programme kept per process: every change of the programme, however it is written,
reaches the very next event; what does not change the programme (a rule's budget counter) does not
reload it; a change rolled back never leaves its programme behind."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from core.errors import InvalidInput
from loyalty.models import ActivityEvent, EarningRule, EventType, ProgrammeRevision, ProgrammeSettings, Tier
from loyalty.services.events import EventInput, event_record, events_record_batch
from loyalty.services.members import member_upsert
from loyalty.services.rules import rule_create

AT = datetime(2026, 5, 4, 19, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def brand(db, brand_a):
    connection.set_tenant(brand_a)
    member_upsert(external_id="m1", data={})
    return brand_a


def review_points(key: str, type: str = "review") -> int:
    data = EventInput(member="m1", type=type, occurred_at=AT, attributes={}, idempotency_key=key)
    return event_record(data=data)["points_awarded"]


def revision() -> int:
    return ProgrammeRevision.objects.get().revision


def test_each_way_of_changing_a_rule_reaches_the_next_event(brand):
    assert review_points("k0") == 0  # the programme is compiled and kept
    rule = rule_create(data={"name": "Review bonus", "event_type": "review", "points": 100})
    assert review_points("k1") == 100
    EarningRule.objects.filter(pk=rule.pk).update(points=150)  # a queryset update
    assert review_points("k2") == 150
    with connection.cursor() as cursor:  # plain SQL
        cursor.execute("UPDATE loyalty_earningrule SET is_active = false WHERE id = %s", [rule.pk])
    assert review_points("k3") == 0
    (result,) = events_record_batch(
        items=[EventInput(member="m1", type="review", occurred_at=AT, attributes={}, idempotency_key="k4")]
    )
    assert result["points_awarded"] == 0


def test_event_types_tiers_and_settings_move_the_revision(brand):
    before = revision()
    with pytest.raises(InvalidInput):
        review_points("v0", type="visit")  # not an event type of the programme yet
    EventType.objects.create(code="visit", name="Visit")
    assert revision() > before
    assert review_points("v1", type="visit") == 0  # accepted at once
    before = revision()
    Tier.objects.create(code="gold", name="Gold", threshold=1000)
    assert revision() > before
    before = revision()
    ProgrammeSettings.objects.filter(id=1).update(pending_days=3)
    assert revision() > before


def test_a_rules_budget_counter_does_not_move_the_revision(brand):
    rule = rule_create(data={"name": "Budgeted", "event_type": "review", "points": 10, "global_budget": 1000})
    before = revision()
    assert review_points("b1") == 10  # the event moves the rule's budget counter
    EarningRule.objects.filter(pk=rule.pk).update(budget_used=F("budget_used") + 5)
    assert revision() == before
    assert EarningRule.objects.get(pk=rule.pk).budget_used == 15


def test_a_change_rolled_back_never_leaves_its_programme_behind(brand):
    assert review_points("r0") == 0
    with pytest.raises(RuntimeError), transaction.atomic():
        rule_create(data={"name": "Rolled back", "event_type": "review", "points": 999})
        assert review_points("r1") == 999  # compiled and kept inside the transaction
        raise RuntimeError("roll back")
    assert review_points("r2") == 0
    rule_create(data={"name": "Kept", "event_type": "review", "points": 7})
    assert review_points("r3") == 7  # the revision number of the rolled-back change is never reused


def test_an_event_checks_the_cached_programme_within_its_member_lock(brand):
    """With the programme compiled, an event asks no query of its own for the revision: the
    member's lock query reads it; a programme changed since is then compiled again."""
    assert review_points("q0") == 0
    with CaptureQueriesContext(connection) as queries:
        assert review_points("q1") == 0
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT revision")]
    rule_create(data={"name": "Review bonus", "event_type": "review", "points": 5})
    with CaptureQueriesContext(connection) as queries:
        assert review_points("q2") == 5
    assert [q for q in queries.captured_queries if q["sql"].startswith("SELECT revision")]


def test_a_bad_event_with_the_programme_cached_is_refused_and_writes_nothing(brand):
    """A refusal by the cached programme is checked against the current one before it is given."""
    assert review_points("w0") == 0  # the programme is compiled and kept
    with pytest.raises(InvalidInput) as refused:
        review_points("w1", type="no-such-type")
    assert refused.value.field == "type"
    assert not ActivityEvent.objects.filter(idempotency_key="w1").exists()
