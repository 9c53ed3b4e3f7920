"""Segments: each filter of the structure, their combination, and validation naming the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from loyalty.models import Member, Segment
from loyalty.selectors.segments import SegmentFilterError, segment_filters_errors, segment_members
from loyalty.services.members import consent_set
from loyalty.services.tiers import tier_create
from tests.factories import member_make


@pytest.fixture
def people(db, brand_a):
    """A small population where each filter picks a known set (by external id)."""
    connection.set_tenant(brand_a)
    gold = tier_create(data={"code": "gold", "name": "Gold", "threshold": "500"})
    silver = tier_create(data={"code": "silver", "name": "Silver", "threshold": "100"})
    rep = get_user_model().objects.create_user(username="rep@alpha.example", password="x")
    now = timezone.now()
    rows = {
        "ann": {
            "tier": gold,
            "balance": 1200,
            "last_activity_at": now - timedelta(days=2),
            "tags": ["wine", "b2b"],
        },
        "bob": {
            "tier": silver,
            "balance": 150,
            "last_activity_at": now - timedelta(days=40),
            "tags": ["wine"],
        },
        "cat": {
            "balance": 0,
            "tags": ["staff"],
            "kind": "reseller",
            "company_name": "Cat SARL",
            "sales_rep": rep,
        },
        "dan": {
            "balance": 80,
            "last_activity_at": now - timedelta(days=100),
            "is_vip": True,
            "vip_source": "manual",
            "vip_since": now,
            "status": "blocked",
        },
        "eve": {"tier": gold, "balance": 999, "status": "anonymised"},
    }
    members = {}
    for external_id, fields in rows.items():
        member = member_make(external_id)
        Member.objects.filter(pk=member.pk).update(**fields)
        members[external_id] = member
    Member.objects.filter(pk=members["ann"].pk).update(joined_at=datetime(2025, 12, 31, 22, 30, tzinfo=UTC))
    Member.objects.filter(pk=members["bob"].pk).update(joined_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
    Member.objects.filter(pk__in=[members[n].pk for n in ("cat", "dan")]).update(
        joined_at=datetime(2026, 6, 1, tzinfo=UTC)
    )
    consent_set(member=members["ann"], consents={"email": True, "sms": False}, source="test")
    consent_set(member=members["bob"], consents={"email": True, "sms": True}, source="test")
    consent_set(member=members["dan"], consents={"email": False}, source="test")
    return {"rep": rep}


def _ids(filters: dict) -> list[str]:
    segment = Segment.objects.create(name=f"s-{len(Segment.objects.all())}", filters=filters)
    return sorted(segment_members(segment=segment).values_list("external_id", flat=True))


def test_no_filter_is_everyone_but_anonymised_members(people):
    assert _ids({}) == ["ann", "bob", "cat", "dan"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tiers": ["gold"]}, ["ann"]),
        ({"tiers": ["gold", "silver"]}, ["ann", "bob"]),
        ({"tiers": [None]}, ["cat", "dan"]),
        ({"tiers": ["silver", None]}, ["bob", "cat", "dan"]),
        ({"balance": {"min": 100}}, ["ann", "bob"]),
        ({"balance": {"max": 100}}, ["cat", "dan"]),
        ({"balance": {"min": 80, "max": 150}}, ["bob", "dan"]),
        ({"last_activity": {"within_days": 30}}, ["ann"]),
        ({"last_activity": {"not_within_days": 30}}, ["bob", "cat", "dan"]),
        ({"tags": {"any": ["wine", "staff"]}}, ["ann", "bob", "cat"]),
        ({"tags": {"all": ["wine", "b2b"]}}, ["ann"]),
        ({"tags": {"none": ["wine"]}}, ["cat", "dan"]),
        ({"kind": "reseller"}, ["cat"]),
        ({"kind": "customer"}, ["ann", "bob", "dan"]),
        ({"consents": {"email": True}}, ["ann", "bob"]),
        ({"consents": {"email": True, "sms": False}}, ["ann"]),
        ({"consents": {"email": False}}, ["cat", "dan"]),
        # Dates are the brand's (Paris): 23:30 UTC on 31 December is 1 January there.
        ({"joined": {"before": "2026-01-01"}}, ["ann"]),
        ({"joined": {"after": "2026-01-01"}}, ["bob", "cat", "dan"]),
        ({"joined": {"after": "2026-01-01", "before": "2026-05-01"}}, ["bob"]),
        ({"sales_rep": None}, ["ann", "bob", "dan"]),
        ({"vip": True}, ["dan"]),
        ({"vip": False}, ["ann", "bob", "cat"]),
        ({"status": ["blocked"]}, ["dan"]),
        ({"tiers": ["gold", "silver"], "consents": {"sms": True}, "balance": {"min": 100}}, ["bob"]),
    ],
)
def test_each_filter(people, filters, expected):
    assert _ids(filters) == expected


def test_sales_rep_filter(people):
    assert _ids({"sales_rep": people["rep"].pk}) == ["cat"]


@pytest.mark.parametrize(
    ("filters", "key"),
    [
        ([], "filters"),
        ({"colour": "red"}, "colour"),
        ({"tiers": "gold"}, "tiers"),
        ({"tiers": ["platinum"]}, "tiers"),
        ({"balance": {"min": "ten"}}, "balance.min"),
        ({"balance": {"low": 1}}, "balance"),
        ({"balance": {}}, "balance"),
        ({"last_activity": {"within_days": -1}}, "last_activity.within_days"),
        ({"last_activity": {"within_days": 1, "not_within_days": 5}}, "last_activity"),
        ({"tags": {"any": []}}, "tags.any"),
        ({"tags": ["wine"]}, "tags"),
        ({"kind": "robot"}, "kind"),
        ({"consents": {"fax": True}}, "consents.fax"),
        ({"consents": {"email": "yes"}}, "consents.email"),
        ({"joined": {"after": "01/02/2026"}}, "joined.after"),
        ({"sales_rep": 999999}, "sales_rep"),
        ({"sales_rep": "bob"}, "sales_rep"),
        ({"vip": "yes"}, "vip"),
        ({"status": ["anonymised"]}, "status"),
    ],
)
def test_malformed_filters_are_refused_naming_the_key(people, filters, key):
    errors = segment_filters_errors(filters)
    assert key in errors, errors
    segment = Segment(name="bad", filters=filters)
    with pytest.raises(SegmentFilterError) as raised:
        segment_members(segment=segment)
    assert key in raised.value.errors
