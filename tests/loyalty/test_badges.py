"""Badges: a count of an event type (with attribute conditions), awarded once, on a leaderboard."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from loyalty.models import ActivityEvent, Member, MemberBadge
from loyalty.selectors.leaderboard import badge_holders, leaderboard
from loyalty.services.badges import BadgeInputError, badge_save, badges_evaluate
from loyalty.services.ledger import member_lock
from tests.loyalty.test_ledger_invariants import _member, _run_concurrently

_keys = itertools.count()


def _event(member: Member, type_: str = "damage_report", **attributes) -> ActivityEvent:
    return ActivityEvent.objects.create(
        idempotency_key=f"b-{next(_keys)}",
        member=member,
        type=type_,
        occurred_at=timezone.now(),
        attributes=attributes,
    )


def _record(member: Member, type_: str = "damage_report", **attributes) -> list[MemberBadge]:
    """What event recording does: store the event and evaluate badges under the member's lock."""
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        return badges_evaluate(member=locked, events=[_event(locked, type_, **attributes)])


def _reporter_badge():
    return badge_save(
        data={
            "code": "road-guardian",
            "name": "Road guardian",
            "event_type": "damage_report",
            "conditions": [{"field": "attributes.status", "op": "equals", "value": "approved"}],
            "count_required": 10,
        }
    )


def test_ten_approved_damage_reports_earn_the_badge_once(db, brand_a):
    connection.set_tenant(brand_a)
    badge = _reporter_badge()
    member = _member()
    for _ in range(9):
        assert _record(member, status="approved") == []
    assert _record(member, status="rejected") == [], "a rejected report does not count"
    assert _record(member, "review", status="approved") == [], "another event type does not count"
    awarded = _record(member, status="approved")
    assert [holder.badge for holder in awarded] == [badge]
    assert _record(member, status="approved") == [], "a badge is awarded once"
    assert MemberBadge.objects.filter(member=member).count() == 1


def test_badge_counts_history_before_it_existed_and_ignores_reversed_events(db, brand_a):
    connection.set_tenant(brand_a)
    member = _member()
    for _ in range(2):
        _event(member, "review", status="published", product={"category": "wine"})
    reversed_review = _event(member, "review", status="published", product={"category": "wine"})
    reversed_review.reversed_at = timezone.now()
    reversed_review.save()
    badge_save(
        data={
            "code": "wine-critic",
            "name": "Wine critic",
            "event_type": "review",
            "conditions": [{"field": "attributes.product.category", "op": "equals", "value": "wine"}],
            "count_required": 3,
        }
    )
    assert _record(member, "review", product={"category": "cheese"}) == []
    assert len(_record(member, "review", product={"category": "wine"})) == 1


def test_badge_without_conditions_counts_every_event_of_the_type(db, brand_a):
    connection.set_tenant(brand_a)
    badge_save(data={"code": "first-trip", "name": "First trip", "event_type": "trip", "count_required": 1})
    member = _member()
    assert len(_record(member, "trip")) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"count_required": 0}, "count_required", "greater than or equal to 1"),
        ({"conditions": {"status": "approved"}}, "conditions", "must be a list"),
        ({"conditions": [{"field": "status", "op": "equals", "value": 1}]}, "conditions", "attributes.<key>"),
        (
            {"conditions": [{"field": "attributes.status", "op": "gt", "value": 1}]},
            "conditions",
            "op must be one of equals",
        ),
        ({"conditions": [{"field": "attributes.a", "op": "equals"}]}, "conditions", "exactly the keys"),
        (
            {"conditions": [{"field": "attributes.a", "op": "equals", "value": [1]}]},
            "conditions",
            "single value",
        ),
        ({"event_type": ""}, "event_type", "blank"),
        ({"level": 3}, "level", "not a badge field"),
    ],
)
def test_bad_badges_are_refused_naming_the_field(db, brand_a, data, field, message):
    connection.set_tenant(brand_a)
    base = {"code": "b", "name": "B", "event_type": "review", "count_required": 1}
    with pytest.raises(BadgeInputError) as raised:
        badge_save(data={**base, **data})
    assert message in " ".join(raised.value.errors[field]), raised.value.errors


def test_concurrent_events_of_one_member_award_the_badge_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    badge_save(data={"code": "busy", "name": "Busy", "event_type": "trip", "count_required": 3})
    member = _member("racer")

    def record(index: int):
        connection.set_tenant(fresh_brand)
        return _record(member, "trip")

    results = _run_concurrently(12, record)
    connection.set_tenant(fresh_brand)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r) for r in results) == 1
    assert MemberBadge.objects.filter(member=member).count() == 1


def test_leaderboard_ranks_by_badges_then_by_who_got_there_first(db, brand_a):
    connection.set_tenant(brand_a)
    first = badge_save(data={"code": "one", "name": "One", "event_type": "trip", "count_required": 1})
    second = badge_save(data={"code": "two", "name": "Two", "event_type": "review", "count_required": 1})
    early, late, double, nobody, gone = (_member(n) for n in ("early", "late", "double", "nobody", "gone"))
    now = timezone.now()
    MemberBadge.objects.create(member=double, badge=first, awarded_at=now - timedelta(days=1))
    MemberBadge.objects.create(member=double, badge=second, awarded_at=now)
    MemberBadge.objects.create(member=late, badge=first, awarded_at=now - timedelta(days=2))
    MemberBadge.objects.create(member=early, badge=first, awarded_at=now - timedelta(days=3))
    MemberBadge.objects.create(member=gone, badge=second, awarded_at=now - timedelta(days=9))
    Member.objects.filter(pk=gone.pk).update(status=Member.Status.ANONYMISED)

    board = list(leaderboard(limit=10))
    assert [(m.external_id, m.badge_count) for m in board] == [("double", 2), ("early", 1), ("late", 1)]
    assert nobody not in board
    assert [h.member.external_id for h in badge_holders(badge=first)] == ["early", "late", "double"]
