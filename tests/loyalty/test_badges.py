"""Badges: a count of an event type (with attribute conditions), awarded once, on a leaderboard."""

from __future__ import annotations

import itertools
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.errors import InvalidInput
from loyalty.engine import Beneficiary, Lookups, MemberFacts, event_facts, rules_compile, rules_evaluate
from loyalty.models import ActivityEvent, Badge, EarningRule, Member, MemberBadge
from loyalty.selectors.leaderboard import badge_holders, leaderboard
from loyalty.services.badges import badge_save, badges_evaluate
from loyalty.services.ledger import member_lock
from tests.factories import member_make
from tests.support import run_concurrently

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
    member = member_make("m-1")
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
    member = member_make("m-1")
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
    member = member_make("m-1")
    assert len(_record(member, "trip")) == 1


def _not_needed(*args):
    raise AssertionError("a rule without limit, budget or segment looks nothing up")


@pytest.mark.parametrize("sent", [5, 5.0, "5", "5.00"])
def test_a_badge_compares_attributes_as_a_rule_does(db, brand_a, sent):
    """One condition, two readers: the rules engine and the badge count agree on every spelling
    of the number, on the event just recorded and on the events already stored."""
    connection.set_tenant(brand_a)
    condition = {"field": "attributes.stars", "op": "equals", "value": 5}
    rule = EarningRule(pk=1, name="five stars", event_type="review", points=10, conditions=[condition])
    facts = event_facts(
        type="review", occurred_at=timezone.now(), attributes={"stars": sent}, tz=UTC, currency="EUR"
    )
    member_facts = MemberFacts(id=1, external_id="m-1", kind="customer", tier_code="", tags=(), is_vip=False)
    beneficiary = Beneficiary(kind="member", member_id=1, external_id="m-1", tier_multiplier=Decimal(1))
    refuse = Lookups(usage=_not_needed, budget_left=_not_needed, in_segment=_not_needed)
    earned = rules_evaluate(
        rules=rules_compile([rule]),
        event=facts,
        member=member_facts,
        beneficiaries={"member": beneficiary, "sales_rep": None},
        lookups=refuse,
    )
    assert earned.points == 10
    badge_save(
        data={
            "code": "critic",
            "name": "Critic",
            "event_type": "review",
            "conditions": [condition, {"field": "attributes.stars", "op": "gte", "value": "4.5"}],
            "count_required": 2,
        }
    )
    member = member_make("m-1")
    assert _record(member, "review", stars=sent) == []
    assert _record(member, "review", stars=4) == []
    assert len(_record(member, "review", stars=sent)) == 1


def test_a_badge_on_text_counts_only_the_exact_text(db, brand_a):
    connection.set_tenant(brand_a)
    badge = badge_save(
        data={
            "code": "approved",
            "name": "Approved",
            "event_type": "report",
            "conditions": [{"field": "attributes.status", "op": "in", "value": ["approved", "ok"]}],
            "count_required": 2,
        }
    )
    member = member_make("m-1")
    assert _record(member, "report", status="Approved") == []
    assert _record(member, "report", status="ok") == []
    assert [holder.badge for holder in _record(member, "report", status="approved")] == [badge]


def test_a_badge_saved_with_conditions_the_engine_cannot_read_counts_nothing_and_says_so(db, brand_a, caplog):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    Badge.objects.create(
        code="legacy",
        name="Legacy",
        event_type="trip",
        conditions=[{"field": "attributes.1st", "op": "equals", "value": None}],
        count_required=1,
    )
    first = badge_save(data={"code": "first", "name": "First", "event_type": "trip", "count_required": 1})
    assert [holder.badge for holder in _record(member, "trip")] == [first]
    assert "badge legacy has conditions the engine cannot read" in caplog.text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"count_required": 0}, "count_required", "greater than or equal to 1"),
        ({"conditions": {"status": "approved"}}, "conditions", "must be a list"),
        ({"conditions": [{"field": "status", "op": "equals", "value": 1}]}, "conditions", "attributes.<key>"),
        (
            {"conditions": [{"field": "attributes.status", "op": "like", "value": 1}]},
            "conditions",
            "'like' does not apply to attributes.status",
        ),
        (
            {"conditions": [{"field": "attributes.size", "op": "gt", "value": "big"}]},
            "conditions",
            "'big' is not a number",
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
    with pytest.raises(InvalidInput) as raised:
        badge_save(data={**base, **data})
    assert message in " ".join(raised.value.errors[field]), raised.value.errors


def test_concurrent_events_of_one_member_award_the_badge_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    badge_save(data={"code": "busy", "name": "Busy", "event_type": "trip", "count_required": 3})
    member = member_make("racer")

    def record(index: int):
        connection.set_tenant(fresh_brand)
        return _record(member, "trip")

    results = run_concurrently(12, record)
    connection.set_tenant(fresh_brand)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r) for r in results) == 1
    assert MemberBadge.objects.filter(member=member).count() == 1


def test_leaderboard_ranks_by_badges_then_by_who_got_there_first(db, brand_a):
    connection.set_tenant(brand_a)
    first = badge_save(data={"code": "one", "name": "One", "event_type": "trip", "count_required": 1})
    second = badge_save(data={"code": "two", "name": "Two", "event_type": "review", "count_required": 1})
    early, late, double, nobody, gone = (
        member_make(n) for n in ("early", "late", "double", "nobody", "gone")
    )
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
