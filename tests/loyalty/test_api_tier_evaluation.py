"""REST API: a member's tier re-evaluated now (`tier-evaluation`) and previewed at a future date
(`tier-preview`), with the why; tiers whose threshold bound is included or not."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from loyalty.models import ActivityEvent, Member, ProgrammeSettings, Tier, TierChange
from loyalty.selectors.tiers import tier_preview
from loyalty.services.ledger import member_lock
from loyalty.services.tiers import member_tier_evaluate, tier_create, tier_evaluate, tiers_evaluate_all
from loyalty.tasks import NIGHTLY_LOCAL_HOUR
from tenants.selectors import brand_timezone
from tests.factories import member_make
from tests.support import error_of

_keys = itertools.count()


def _spent(member: Member, amount: str, at: datetime) -> None:
    ActivityEvent.objects.create(
        idempotency_key=f"spent-{next(_keys)}",
        member=member,
        type="purchase",
        occurred_at=at,
        amount=Decimal(amount),
        currency="EUR",
    )


def _vip_club(*, grace_days: int = 0, inclusive: bool = True) -> None:
    """Member from 0, VIP from 1,000 EUR spent over 9 months (the threshold included or not)."""
    ProgrammeSettings.objects.update_or_create(
        id=1,
        defaults={
            "tier_metric": "amount_spent",
            "tier_window": "rolling_months",
            "tier_window_months": 9,
            "currency": "EUR",
            "tier_downgrade": "grace" if grace_days else "immediate",
            "tier_grace_days": grace_days,
        },
    )
    tier_create(data={"code": "member", "name": "Member", "threshold": "0"})
    tier_create(data={"code": "vip", "name": "VIP", "threshold": "1000", "threshold_inclusive": inclusive})


def _tier(member: Member) -> str | None:
    member.refresh_from_db()
    return member.tier.code if member.tier else None


def _evaluate(member: Member, at: datetime) -> None:
    with transaction.atomic():
        tier_evaluate(member=member_lock(member_id=member.pk), at=at)


# --- inclusive and exclusive thresholds -------------------------------------------------------------


@pytest.mark.parametrize(("inclusive", "expected"), [(True, "vip"), (False, "member")])
def test_a_threshold_is_reached_at_itself_only_when_included(in_a, inclusive, expected):
    _vip_club(inclusive=inclusive)
    now = timezone.now()
    exactly, above = member_make("at-1000"), member_make("at-1000.01")
    _spent(exactly, "1000.00", now - timedelta(days=3))
    _spent(above, "1000.01", now - timedelta(days=3))
    _evaluate(exactly, now)
    assert _tier(exactly) == expected
    tiers_evaluate_all(at=now)  # the nightly run decides the same
    assert _tier(exactly) == expected
    assert _tier(above) == "vip"  # over the threshold: reached either way


def test_default_is_todays_at_least_and_the_api_switches_it_both_ways(api_a, in_a):
    _vip_club()
    assert Tier.objects.get(code="vip").threshold_inclusive is True
    member = member_make("exact")
    _spent(member, "1000", timezone.now() - timedelta(days=1))

    body = api_a.post("/api/v1/members/exact/tier-evaluation").json()
    assert (body["tier"]["code"], body["reason"], body["threshold"]["met"]) == ("vip", "upgraded", True)

    response = api_a.put("/api/v1/tiers/vip", {"threshold_inclusive": False})
    assert response.status_code == 200, response.content
    assert response.json()["threshold_inclusive"] is False
    body = api_a.post("/api/v1/members/exact/tier-evaluation").json()
    assert (body["previous_tier"]["code"], body["tier"]["code"], body["reason"]) == (
        "vip",
        "member",
        "downgraded",
    )
    assert body["threshold"] == {
        "code": "vip",
        "name": "VIP",
        "threshold": "1000.00",
        "threshold_inclusive": False,
        "met": False,
    }

    assert api_a.put("/api/v1/tiers/vip", {"threshold_inclusive": True}).status_code == 200
    assert api_a.post("/api/v1/members/exact/tier-evaluation").json()["tier"]["code"] == "vip"
    listed = {tier["code"]: tier["threshold_inclusive"] for tier in api_a.get("/api/v1/tiers").json()}
    assert listed == {"member": True, "vip": True}


def test_threshold_inclusive_must_be_a_boolean(api_a, in_a):
    _vip_club()
    for bad in ("yes", 1, None, [True]):
        error = error_of(api_a.put("/api/v1/tiers/vip", {"threshold_inclusive": bad}), 400)
        assert error["field"] == "threshold_inclusive", bad
    error = error_of(
        api_a.post(
            "/api/v1/tiers", {"code": "gold", "name": "Gold", "threshold": 5, "threshold_inclusive": "no"}
        ),
        400,
    )
    assert error["field"] == "threshold_inclusive"
    assert Tier.objects.get(code="vip").threshold_inclusive is True
    assert not Tier.objects.filter(code="gold").exists()
    created = api_a.post(
        "/api/v1/tiers", {"code": "gold", "name": "Gold", "threshold": 5000, "threshold_inclusive": False}
    )
    assert created.status_code == 201 and created.json()["threshold_inclusive"] is False


# --- evaluation now -----------------------------------------------------------------------------------


def test_evaluation_answers_the_result_and_why(api_a, in_a):
    _vip_club(grace_days=30)
    now = timezone.now()
    member = member_make("eva")
    _spent(member, "400", now - timedelta(days=20))

    body = api_a.post("/api/v1/members/eva/tier-evaluation").json()
    assert body["previous_tier"] is None
    assert (body["tier"]["code"], body["reason"], body["changed"]) == ("member", "upgraded", True)
    assert body["qualifying_amount"] == "400.00"
    assert body["tier_metric"] == "amount_spent"
    assert body["threshold"]["code"] == "member" and body["threshold"]["met"] is True
    assert body["next_tier"]["code"] == "vip" and body["next_tier"]["threshold"] == "1000.00"
    assert body["grace_ends_at"] is None
    window_start = datetime.fromisoformat(body["window_start"]).astimezone(brand_timezone())
    assert window_start.time() == time(0) and 270 <= (now - window_start).days <= 276  # 9 months back

    body = api_a.post("/api/v1/members/eva/tier-evaluation").json()
    assert (body["reason"], body["changed"]) == ("kept", False)
    assert TierChange.objects.filter(member=member).count() == 1


def test_evaluation_in_grace_gives_the_grace_end_then_downgrades(api_a, in_a):
    _vip_club(grace_days=30)
    now = timezone.now()
    member = member_make("grace")
    _spent(member, "1200", now - timedelta(days=300))  # outside the 9 months now
    vip = Tier.objects.get(code="vip")
    started = now - timedelta(days=10)
    Member.objects.filter(pk=member.pk).update(tier=vip, tier_below_since=started)

    body = api_a.post("/api/v1/members/grace/tier-evaluation").json()
    assert (body["previous_tier"]["code"], body["tier"]["code"], body["reason"]) == ("vip", "vip", "in_grace")
    assert body["qualifying_amount"] == "0.00"
    assert body["threshold"]["code"] == "vip" and body["threshold"]["met"] is False
    assert datetime.fromisoformat(body["grace_started_at"]) == started
    assert datetime.fromisoformat(body["grace_ends_at"]) == started + timedelta(days=30)
    assert body["changed"] is False

    Member.objects.filter(pk=member.pk).update(tier_below_since=now - timedelta(days=31))
    body = api_a.post("/api/v1/members/grace/tier-evaluation").json()
    assert (body["tier"]["code"], body["reason"], body["changed"]) == ("member", "downgraded", True)
    assert body["grace_ends_at"] is None
    assert _tier(member) == "member"


def test_evaluation_of_an_unknown_or_anonymised_member(api_a, in_a):
    _vip_club()
    assert error_of(api_a.post("/api/v1/members/nobody/tier-evaluation"), 404)["field"] == "external_id"
    member = member_make("gone")
    Member.objects.filter(pk=member.pk).update(status=Member.Status.ANONYMISED)
    assert error_of(api_a.post("/api/v1/members/gone/tier-evaluation"), 409)["field"] == "status"
    assert error_of(api_a.get("/api/v1/members/gone/tier-preview?at=2099-01-01"), 400)["field"] == "at"
    future = (timezone.now() + timedelta(days=40)).date().isoformat()
    assert error_of(api_a.get(f"/api/v1/members/gone/tier-preview?at={future}"), 409)["field"] == "status"
    assert not TierChange.objects.exists()


# --- preview at a future date -------------------------------------------------------------------------


def _nights(now: datetime, until: date) -> list[datetime]:
    zone = brand_timezone()
    today = now.astimezone(zone).date()
    runs = [
        datetime.combine(today + timedelta(days=day), time(NIGHTLY_LOCAL_HOUR), tzinfo=zone)
        for day in range((until - today).days + 1)
    ]
    return [run for run in runs if run > now]


def test_preview_plays_the_nights_as_the_nightly_run_would(in_a):
    """Activity leaving the window starts the grace period on that night, not on the date asked; the
    preview then agrees with the nightly runs themselves, played night by night."""
    _vip_club(grace_days=20)
    now = timezone.now()
    member = member_make("future")
    _spent(member, "700", now - timedelta(days=250))  # leaves the 9-month window in about 20 days
    _spent(member, "500", now - timedelta(days=100))
    _evaluate(member, now)
    assert _tier(member) == "vip"
    on = (now + timedelta(days=60)).astimezone(brand_timezone()).date()

    preview = tier_preview(member=member, on=on, now=now)
    assert TierChange.objects.filter(member=member).count() == 1  # wrote nothing
    member.refresh_from_db()
    assert (member.tier.code, member.tier_below_since) == ("vip", None)
    assert (preview.previous_tier.code, preview.tier.code, preview.reason) == ("vip", "member", "downgraded")
    assert preview.value == Decimal("500")
    assert [(step.tier.code, step.reason) for step in preview.steps] == [
        ("vip", "in_grace"),
        ("member", "downgraded"),
    ]
    grace_start = preview.steps[0].at
    assert preview.steps[0].grace_ends_at == grace_start + timedelta(days=20)
    assert preview.steps[1].at >= grace_start + timedelta(days=20)

    # Within the grace period: still VIP, and when it ends.
    inside = tier_preview(member=member, on=grace_start.date() + timedelta(days=5), now=now)
    assert (inside.tier.code, inside.reason, inside.grace_ends_at) == (
        "vip",
        "in_grace",
        grace_start + timedelta(days=20),
    )

    # The nightly runs themselves, night by night, end where the preview said.
    with transaction.atomic():
        for night in _nights(now, on):
            tiers_evaluate_all(at=night)
        member.refresh_from_db()
        assert member.tier.code == "member"
        changes = list(
            TierChange.objects.filter(member=member)
            .order_by("changed_at")
            .values_list("changed_at", flat=True)
        )
        assert changes[-1] == preview.steps[1].at
        transaction.set_rollback(True)


def test_preview_through_the_api_writes_nothing(api_a, in_a):
    _vip_club()
    now = timezone.now()
    member = member_make("api-future")
    _spent(member, "1500", now - timedelta(days=240))
    member_tier_evaluate(member_id=member.pk)
    changes = TierChange.objects.count()
    on = (now + timedelta(days=90)).astimezone(brand_timezone()).date()

    response = api_a.get(f"/api/v1/members/api-future/tier-preview?at={on.isoformat()}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["previous_tier"]["code"], body["tier"]["code"], body["reason"]) == (
        "vip",
        "member",
        "downgraded",
    )
    assert body["qualifying_amount"] == "0.00"
    assert body["threshold"]["code"] == "vip" and body["threshold"]["met"] is False
    assert [step["reason"] for step in body["steps"]] == ["downgraded"]
    assert datetime.fromisoformat(body["at"]).astimezone(brand_timezone()).date() == on
    assert "changed" not in body
    assert TierChange.objects.count() == changes
    assert _tier(member) == "vip"


def test_preview_refuses_a_date_not_ahead_or_malformed_naming_at(api_a, in_a):
    _vip_club()
    member_make("dates")
    today = timezone.now().astimezone(brand_timezone()).date()
    for bad in ("", "2027-02-30", "tomorrow", "2027-03-01T00:00:00", today.isoformat(), "2020-01-01",
                (today + timedelta(days=6000)).isoformat()):  # fmt: skip
        error = error_of(api_a.get(f"/api/v1/members/dates/tier-preview?at={bad}"), 400)
        assert error["field"] == "at", bad
    assert error_of(api_a.get("/api/v1/members/dates/tier-preview"), 400)["field"] == "at"
    assert (
        error_of(api_a.get("/api/v1/members/nobody/tier-preview?at=2099-01-01"), 404)["field"]
        == "external_id"
    )
    assert not TierChange.objects.exists()
