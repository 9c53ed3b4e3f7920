"""Who may enter a club space (`clubs.selectors.space_may_enter`): each entry condition, held as
data, and what the definition needs (errors per field, the database's own checks)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from clubs.models import Space, SpaceGrant
from clubs.selectors import member_attribute_latest, space_may_enter, spaces_for
from core.errors import InvalidInput
from loyalty.models import ActivityEvent, Member, Segment, Tier
from tests.factories import member_make

from .factories import space_make

pytestmark = pytest.mark.django_db(transaction=False)


def _statement(member: Member, share, *, days_ago: int, key: str, **extra) -> ActivityEvent:
    return ActivityEvent.objects.create(
        idempotency_key=key,
        member=member,
        type="monthly_statement",
        occurred_at=timezone.now() - timedelta(days=days_ago),
        attributes={"purchase_share": share},
        **extra,
    )


def test_vip(in_a):
    space = space_make(entry="vip")
    assert space_may_enter(space=space, member=member_make(is_vip=True))
    assert not space_may_enter(space=space, member=member_make())
    assert not space_may_enter(space=space, member=None)


def test_a_tier_at_least(in_a):
    silver = Tier.objects.create(code="silver", name="Silver", threshold=100)
    gold = Tier.objects.create(code="gold", name="Gold", threshold=500)
    bronze = Tier.objects.create(code="bronze", name="Bronze", threshold=0)
    space = space_make(entry="tier", tier=silver)
    held = {}
    for tier in (bronze, silver, gold, None):
        member = member_make()
        Member.objects.filter(pk=member.pk).update(tier=tier)
        member.refresh_from_db()
        held[tier.code if tier else None] = space_may_enter(space=space, member=member)
    assert held == {"bronze": False, "silver": True, "gold": True, None: False}


def test_a_segment(in_a):
    wine = Segment.objects.create(name="Wine lovers", filters={"tags": {"any": ["wine"]}})
    space = space_make(entry="segment", segment=wine)
    assert space_may_enter(space=space, member=member_make(tags=["wine"]))
    assert not space_may_enter(space=space, member=member_make(tags=["beer"]))
    Segment.objects.filter(pk=wine.pk).update(filters={"colour": "red"})  # invalid since: nobody enters
    space.segment.refresh_from_db()
    assert not space_may_enter(space=space, member=member_make(tags=["wine"]))


def test_an_attribute_of_the_latest_event_of_a_type(in_a):
    """The pharmacists' club: more than half of the pharmacy's purchases made with the brand, read
    from the latest monthly statement (an older one, a refunded one or another type do not count)."""
    space = space_make(
        entry="attribute",
        attribute_event_type="monthly_statement",
        attribute_name="purchase_share",
        attribute_operator="gt",
        attribute_value=Decimal("0.5"),
    )
    member = member_make()
    assert not space_may_enter(space=space, member=member)  # no statement yet
    _statement(member, 0.7, days_ago=40, key="s-1")
    assert space_may_enter(space=space, member=member)
    _statement(member, "0.4", days_ago=10, key="s-2")
    assert not space_may_enter(space=space, member=member)  # the latest says 0.4
    _statement(member, 0.9, days_ago=1, key="s-3", reversed_at=timezone.now())
    assert not space_may_enter(space=space, member=member)
    _statement(member, "0.5", days_ago=0, key="s-4")
    assert not space_may_enter(space=space, member=member)  # greater than, not equal
    Space.objects.filter(pk=space.pk).update(attribute_operator="gte")
    space.refresh_from_db()
    assert space_may_enter(space=space, member=member)


@pytest.mark.parametrize("value", ["a lot", None, True, {"x": 1}, "NaN"])
def test_an_attribute_that_is_not_a_number_lets_nobody_in(in_a, value):
    member = member_make()
    _statement(member, value, days_ago=1, key="odd")
    assert (
        member_attribute_latest(member=member, event_type="monthly_statement", name="purchase_share") is None
    )


def test_a_code_space_lets_in_the_members_a_code_granted(in_a):
    space = space_make(entry="code")
    granted, other = member_make(), member_make()
    SpaceGrant.objects.create(space=space, member=granted, granted_at=timezone.now())
    assert space_may_enter(space=space, member=granted)
    assert not space_may_enter(space=space, member=other)


def test_blocked_members_and_inactive_spaces(in_a):
    space = space_make(entry="vip")
    member = member_make(is_vip=True)
    Member.objects.filter(pk=member.pk).update(status="blocked")
    member.refresh_from_db()
    assert not space_may_enter(space=space, member=member)
    active = member_make(is_vip=True)
    Space.objects.filter(pk=space.pk).update(is_active=False)
    space.refresh_from_db()
    assert not space_may_enter(space=space, member=active)
    assert spaces_for(member=active) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"entry": "tier"}, "tier"),
        ({"entry": "segment"}, "segment"),
        ({"entry": "attribute", "attribute_name": "share"}, "attribute_event_type"),
        (
            {
                "entry": "attribute",
                "attribute_event_type": "x",
                "attribute_name": "y",
                "attribute_operator": "gt",
            },
            "attribute_value",
        ),
        ({"entry": "nobody"}, "entry"),
        ({"slug": "not a slug"}, "slug"),
    ],
)
def test_a_definition_missing_what_its_condition_needs_names_the_field(in_a, fields, field):
    with pytest.raises(InvalidInput) as error:
        space_make(**{"slug": "bad", **fields})
    assert field in error.value.errors
    assert not Space.objects.filter(slug="bad").exists()


def test_the_database_checks_the_conditions_too(in_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Space.objects.create(slug="raw", name="Raw", entry="tier")
