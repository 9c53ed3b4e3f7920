"""Tenant isolation of events and earning rules: a rule, an event, an idempotency key or a member of
one brand is invisible to another brand's events, simulator and backoffice."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from core.errors import NotFound
from loyalty.models import ActivityEvent, EarningRule, EventType, LedgerEntry, ProgrammeRevision
from loyalty.services.events import EventInput, event_record, event_simulate, events_record_batch
from loyalty.services.members import member_upsert
from loyalty.services.rules import rule_create
from tests.conftest import brand_make

AT = datetime(2026, 5, 4, 19, tzinfo=ZoneInfo("Europe/Paris"))


def review(key: str, member: str = "same-id", **attributes) -> EventInput:
    return EventInput(
        member=member, type="review", occurred_at=AT, attributes=attributes, idempotency_key=key
    )


@pytest.fixture
def two_brands(db, brand_a, brand_b):
    """The same member external id in both brands; a rule only in A."""
    connection.set_tenant(brand_a)
    member_upsert(external_id="same-id", data={})
    rule = rule_create(data={"name": "A's review bonus", "event_type": "review", "points": 100})
    connection.set_tenant(brand_b)
    member_upsert(external_id="same-id", data={})
    return brand_a, brand_b, rule


def test_a_rule_of_brand_a_never_applies_to_brand_b_events(two_brands):
    brand_a, brand_b, rule = two_brands
    connection.set_tenant(brand_b)
    assert event_record(data=review("b-1"))["points_awarded"] == 0
    simulated = event_simulate(data=review(""))
    assert simulated["trace"] == [] and simulated["awards"] == []
    assert not EarningRule.objects.exists()
    connection.set_tenant(brand_a)
    assert event_record(data=review("a-1"))["points_awarded"] == 100
    assert LedgerEntry.objects.filter(rule=rule).count() == 1


def test_an_idempotency_key_of_brand_a_does_not_replay_in_brand_b(two_brands):
    brand_a, brand_b, _ = two_brands
    connection.set_tenant(brand_a)
    in_a = event_record(data=review("shared-key", rating=5))
    assert in_a["points_awarded"] == 100
    connection.set_tenant(brand_b)
    # Another body under the same key is no conflict in B: B never saw that key.
    in_b = event_record(data=review("shared-key", rating=1))
    assert in_b["replayed"] is False and in_b["points_awarded"] == 0
    assert ActivityEvent.objects.get().attributes == {"rating": 1}
    (batch,) = events_record_batch(items=[review("shared-key", rating=1)])
    assert batch["replayed"] is True and batch["points_awarded"] == 0
    connection.set_tenant(brand_a)
    assert event_record(data=review("shared-key", rating=5)) == {**in_a, "replayed": True}


def test_brand_b_cannot_refund_an_event_of_brand_a(two_brands):
    brand_a, brand_b, _ = two_brands
    connection.set_tenant(brand_a)
    event_record(data=review("a-purchase"))
    connection.set_tenant(brand_b)
    refund = EventInput("same-id", "refund", AT, {"original_event": "a-purchase"}, "b-refund")
    with pytest.raises(NotFound) as raised:
        event_record(data=refund)
    assert raised.value.field == "attributes.original_event"
    connection.set_tenant(brand_a)
    assert ActivityEvent.objects.get(idempotency_key="a-purchase").reversed_at is None


def test_a_member_of_brand_a_is_unknown_to_brand_b_events(two_brands):
    brand_a, brand_b, _ = two_brands
    connection.set_tenant(brand_a)
    member_upsert(external_id="only-in-a", data={})
    connection.set_tenant(brand_b)
    for call in (event_record, event_simulate):
        with pytest.raises(NotFound) as raised:
            call(data=review("k", member="only-in-a"))
        assert raised.value.field == "member"


def test_backoffice_of_brand_b_does_not_show_or_simulate_a_rule_of_brand_a(two_brands, staff_for):
    _, brand_b, rule = two_brands
    client = staff_for(brand_b)
    url = f"/backoffice/loyalty/earningrule/{rule.pk}/change/"
    page = client.get(url, follow=True)
    assert "exist. Perhaps it was deleted?" in page.content.decode()
    assert (
        "A&#x27;s review bonus" not in page.content.decode()
        and "A's review bonus" not in page.content.decode()
    )
    posted = client.post(
        url,
        {
            "_simulate": "1",
            "sim-member": "same-id",
            "sim-event_type": "review",
            "sim-occurred_at": "2026-05-04T19:00",
            "sim-attributes": "{}",
        },
        follow=True,
    )
    assert "A&#x27;s review bonus" not in posted.content.decode()
    connection.set_tenant(brand_b)
    assert not ActivityEvent.objects.exists()


def test_the_compiled_programme_kept_per_process_is_kept_per_brand(two_brands):
    """Both brands' programmes compiled and kept: a change in A moves only A's revision, and B's
    events never see A's rules."""
    brand_a, brand_b, _ = two_brands
    connection.set_tenant(brand_b)
    assert event_record(data=review("b-warm"))["points_awarded"] == 0
    b_revision = ProgrammeRevision.objects.get().revision
    connection.set_tenant(brand_a)
    assert event_record(data=review("a-warm"))["points_awarded"] == 100
    rule_create(data={"name": "A's second bonus", "event_type": "review", "points": 5})
    assert event_record(data=review("a-after"))["points_awarded"] == 105
    connection.set_tenant(brand_b)
    assert ProgrammeRevision.objects.get().revision == b_revision
    assert event_record(data=review("b-after"))["points_awarded"] == 0


def test_a_brand_created_again_under_the_same_schema_does_not_inherit_the_kept_programme(live_db):
    """A brand dropped, then created again with the same slug (so the same schema name) and brought
    to the same revision number, starts with its own empty programme, though the old one was
    compiled and kept by this process."""
    slug = f"t-again-{uuid.uuid4().hex[:6]}"
    old = brand_make(slug)
    try:
        connection.set_tenant(old)
        member_upsert(external_id="same-id", data={})
        rule_create(data={"name": "Old brand's bonus", "event_type": "review", "points": 100})
        assert event_record(data=review("k"))["points_awarded"] == 100
        kept_revision = ProgrammeRevision.objects.get().revision
    finally:
        connection.set_schema_to_public()
        old.delete(force_drop=True)
    new = brand_make(slug)
    try:
        connection.set_tenant(new)
        member_upsert(external_id="same-id", data={})
        while ProgrammeRevision.objects.get().revision < kept_revision:
            EventType.objects.filter(code="none").update(name="none")  # moves the revision only
        assert ProgrammeRevision.objects.get().revision == kept_revision
        assert event_record(data=review("k"))["points_awarded"] == 0
    finally:
        connection.set_schema_to_public()
        new.delete(force_drop=True)
