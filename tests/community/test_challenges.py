"""Challenges: progress counts the member's events of the type, in the window, meeting the
conditions (attributes and the time in the brand's timezone); the sweep pays the bonus exactly
once, also when two sweeps run at once, reading only the events recorded since the last one; the
dashboard and /community/challenges/ show the progress."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from community.models import Challenge, ChallengeCompletion
from community.selectors.challenges import challenge_progress, challenges_for
from community.services.challenges import challenge_save, challenges_complete
from community.tasks.challenges import challenges_sweep_all_task
from core.errors import InvalidInput
from loyalty.models import ActivityEvent, LedgerEntry, Member, Segment
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import assert_invariants, run_concurrently

PARIS = ZoneInfo("Europe/Paris")
HAPPY_HOUR_INTO_PARIS = [
    {"field": "attributes.zone_to", "op": "equals", "value": 1},
    {"field": "local_time", "op": "between", "value": ["18:00", "22:00"]},
]
_keys = itertools.count()


@pytest.fixture
def brand(db, brand_a):
    connection.set_tenant(brand_a)
    return brand_a


def _week() -> tuple[datetime, datetime]:
    today = timezone.now().astimezone(PARIS).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), tzinfo=PARIS)
    return monday, monday + timedelta(days=7)


def _challenge(**extra) -> Challenge:
    starts_at, ends_at = _week()
    data = {
        "name": "3 trips into Paris in happy hour",
        "event_type": "trip",
        "conditions": HAPPY_HOUR_INTO_PARIS,
        "count_required": 3,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "bonus_points": 500,
        **extra,
    }
    return challenge_save(data=data)


def _trip(member: Member, at: datetime, *, zone_to: int = 1, type_: str = "trip") -> ActivityEvent:
    return ActivityEvent.objects.create(
        idempotency_key=f"c-{next(_keys)}",
        member=member,
        type=type_,
        occurred_at=at,
        attributes={"zone_from": 3, "zone_to": zone_to},
    )


def _evening(day: int, hour: int = 19) -> datetime:
    """This week's `day` (0: Monday) at `hour` in Paris, never in the future."""
    starts_at, _ = _week()
    at = starts_at + timedelta(days=day, hours=hour)
    return min(at, timezone.now() - timedelta(minutes=1))


def test_progress_counts_only_the_events_in_the_window_that_meet_the_conditions(brand):
    challenge = _challenge(count_required=5)
    member, other = member_make("c-1"), member_make("c-2")
    starts_at, _ = _week()
    at_7pm = starts_at + timedelta(hours=19)  # Monday 19:00 in Paris
    _trip(member, at_7pm)
    _trip(member, at_7pm + timedelta(minutes=30))
    _trip(member, at_7pm - timedelta(days=7))  # last week
    _trip(member, at_7pm, zone_to=2)  # not into Paris
    _trip(member, starts_at + timedelta(hours=12))  # noon: not happy hour
    _trip(member, starts_at + timedelta(hours=22))  # 22:00: the window excludes its end
    _trip(member, at_7pm, type_="damage_report")
    reversed_trip = _trip(member, at_7pm)
    ActivityEvent.objects.filter(pk=reversed_trip.pk).update(reversed_at=timezone.now())
    _trip(other, at_7pm)
    assert challenge_progress(member=member, challenge=challenge) == 2
    assert challenge_progress(member=other, challenge=challenge) == 1


def test_a_challenge_pays_once(brand):
    challenge = _challenge()
    member = member_make("c-1")
    for day in range(3):
        _trip(member, _week()[0] + timedelta(hours=19, minutes=day))
    assert challenges_complete() == 1
    assert challenges_complete() == 0
    assert challenges_complete(member_ids=[member.pk]) == 0
    completion = ChallengeCompletion.objects.get(challenge=challenge, member=member)
    entry = LedgerEntry.objects.get(member=member)
    assert completion.entry == entry and entry.points == 500
    assert entry.idempotency_key == f"community:challenge:{challenge.pk}:{member.pk}"
    member.refresh_from_db()
    assert member.balance == 500
    assert_invariants(member.pk)
    # More events after completing pay nothing more.
    _trip(member, _week()[0] + timedelta(hours=20))
    assert challenges_complete() == 0
    assert LedgerEntry.objects.filter(member=member).count() == 1


def test_the_sweep_reads_only_the_events_since_the_last_one(brand):
    challenge = _challenge(count_required=2)
    member = member_make("c-1")
    _trip(member, _week()[0] + timedelta(hours=19))
    later = timezone.now() + timedelta(minutes=10)  # past the sweep's overlap
    assert challenges_complete(now=later) == 0
    challenge.refresh_from_db()
    mark = challenge.swept_event_id
    assert mark == ActivityEvent.objects.latest("id").pk
    # An event whose id is under the mark is not read again by the sweep: only by asking for the member.
    old = _trip(member, _week()[0] + timedelta(hours=19, minutes=5))
    ActivityEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(hours=1))
    Challenge.objects.filter(pk=challenge.pk).update(swept_event_id=old.pk)
    assert challenges_complete(now=later) == 0
    assert challenges_complete(member_ids=[member.pk], now=later) == 1
    # Changing what counts makes the next sweep read the whole window again.
    other = member_make("c-2")
    _trip(other, _week()[0] + timedelta(hours=19))
    _trip(other, _week()[0] + timedelta(hours=19, minutes=1))
    challenge.refresh_from_db()
    Challenge.objects.filter(pk=challenge.pk).update(swept_event_id=ActivityEvent.objects.latest("id").pk)
    challenge.refresh_from_db()
    challenge_save(data={"count_required": 2, "conditions": HAPPY_HOUR_INTO_PARIS[:1]}, challenge=challenge)
    challenge.refresh_from_db()
    assert challenge.swept_event_id is None
    assert challenges_complete(now=later) == 1
    assert ChallengeCompletion.objects.filter(member=other).exists()


def test_a_member_outside_the_challenges_segment_takes_no_part(brand):
    segment = Segment.objects.create(name="Riders of Lyon", filters={"tags": {"any": ["lyon"]}})
    _challenge(segment=segment, count_required=1)
    paris = member_make("c-1", tags=["paris"])
    lyon = member_make("c-2", tags=["lyon"])
    for member in (paris, lyon):
        _trip(member, _evening(0))
    assert challenges_complete() == 1
    assert ChallengeCompletion.objects.get().member == lyon
    assert challenges_for(member=paris) == []
    assert challenges_for(member=None) == []


def test_a_blocked_member_is_not_paid(brand):
    _challenge(count_required=1)
    member = member_make("c-1")
    _trip(member, _evening(0))
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)
    assert challenges_complete() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"conditions": [{"field": "amount", "op": "gt", "value": 3}]}, "conditions"),
        ({"conditions": [{"field": "attributes.zone", "op": "between", "value": 1}]}, "conditions"),
        ({"conditions": "zone 1"}, "conditions"),
        ({"count_required": 0}, "count_required"),
        ({"bonus_points": 0}, "bonus_points"),
        ({"event_type": "a trip!"}, "event_type"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_bad_challenges_are_refused_naming_the_field(brand, data, field):
    with pytest.raises(InvalidInput) as error:
        _challenge(**data)
    assert field in error.value.errors
    assert not Challenge.objects.exists()


def test_a_challenge_ending_before_it_starts_is_refused(brand):
    starts_at, _ = _week()
    with pytest.raises(InvalidInput) as error:
        _challenge(ends_at=starts_at - timedelta(hours=1))
    assert "ends_at" in error.value.errors


def test_the_dashboard_and_the_challenges_page_show_the_progress(brand):
    challenge = _challenge(description="Ride **into Paris** between 18:00 and 22:00.")
    member = member_make("c-1", login=True)
    _trip(member, _week()[0] + timedelta(hours=19))
    client = Client(HTTP_HOST=host_of(brand))
    client.force_login(member.user)
    dashboard = client.get("/account/").content.decode()
    assert "My challenges" in dashboard and challenge.name in dashboard and "1 / 3" in dashboard
    page = client.get("/community/challenges/").content.decode()
    assert "1 / 3" in page and "<strong>into Paris</strong>" in page and "500 bonus points" in page
    for minute in (1, 2):
        _trip(member, _week()[0] + timedelta(hours=19, minutes=minute))
    challenges_sweep_all_task()
    connection.set_tenant(brand)
    page = client.get("/community/challenges/").content.decode()
    assert "Completed: 500 bonus points credited" in page and "Challenges I completed" in page
    visitor = Client(HTTP_HOST=host_of(brand)).get("/community/challenges/").content.decode()
    assert challenge.name in visitor and "1 / 3" not in visitor


def test_two_sweeps_at_once_pay_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    challenge = _challenge()
    members = [member_make(f"c-{index}") for index in range(5)]
    for member in members:
        for minute in range(3):
            _trip(member, _week()[0] + timedelta(hours=19, minutes=minute))

    def sweep(index: int) -> int:
        connection.set_tenant(fresh_brand)
        return challenges_complete()

    results = run_concurrently(4, sweep)
    connection.set_tenant(fresh_brand)
    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 5
    assert ChallengeCompletion.objects.filter(challenge=challenge).count() == 5
    for member in members:
        assert LedgerEntry.objects.filter(member=member).count() == 1
        member.refresh_from_db()
        assert member.balance == 500
        assert_invariants(member.pk)


def test_the_member_is_told_once(brand, django_capture_on_commit_callbacks):
    from messaging.models import Message
    from messaging.triggers import trigger_put
    from tests.factories import template_make

    template_make("done", body="+{{ points_earned }} points: well done {{ first_name }}", purpose="service")
    trigger_put(kind="challenge_completed", channel="sms", data={"template_code": "done", "is_active": True})
    _challenge(count_required=1)
    member = member_make("c-1", phone="+33612345678", first_name="Ana")
    _trip(member, _evening(0))
    with django_capture_on_commit_callbacks(execute=True):
        assert challenges_complete() == 1
        assert challenges_complete(member_ids=[member.pk]) == 0
    sent = Message.objects.get(trigger="challenge_completed", member=member)
    assert "+500 points: well done Ana" in sent.body
