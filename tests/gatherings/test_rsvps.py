"""RSVPs and the waiting list through the real services: seats then the waiting list in order, a
cancellation promoting the first (told once), capacity changes, check-in, reminders once,
invitations to a segment, visibility, bad inputs naming their field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clubs.models import Space
from core.errors import InvalidInput, NotFound, Refused
from gatherings.models import Gathering, Rsvp
from gatherings.selectors import (
    gathering_attendees_csv,
    gathering_for,
    gatherings_upcoming_for,
    rsvp_waitlist_number,
)
from gatherings.services import (
    gathering_invitations_send,
    gathering_update,
    gathering_validate,
    reminders_due_send,
    rsvp_cancel,
    rsvp_check_in,
    rsvp_create,
)
from loyalty.models import Segment
from loyalty.services.members import member_anonymise
from messaging.models import Message
from tests.factories import member_make

from .factories import event_triggers_on, gathering_make


def _members(count: int, prefix: str = "guest"):
    return [
        member_make(f"{prefix}-{i}", first_name=f"Guest{i}", last_name="Doe", phone=f"+336123456{i:02d}")
        for i in range(count)
    ]


def _sent(kind: str, member=None) -> list[Message]:
    messages = Message.objects.filter(trigger=kind)
    if member is not None:
        messages = messages.filter(member=member)
    return list(messages.order_by("id"))


def test_seats_then_the_waiting_list_in_order_and_answering_again_changes_nothing(in_a):
    gathering = gathering_make(capacity=2)
    first, second, third, fourth = _members(4)

    answers = [rsvp_create(gathering_id=gathering.pk, member=m) for m in (first, second, third, fourth)]

    assert [a.state for a in answers] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [a.position for a in answers] == [None, None, 1, 2]
    assert [rsvp_waitlist_number(rsvp=a) for a in answers] == [None, None, 1, 2]
    again = rsvp_create(gathering_id=gathering.pk, member=third)
    assert again.pk == answers[2].pk and Rsvp.objects.filter(gathering=gathering).count() == 4


def test_a_cancellation_promotes_the_first_waitlisted_who_is_told_once(in_a):
    event_triggers_on("event_promoted")
    gathering = gathering_make(capacity=1, title="Meet the winemaker", place="Le Chai")
    holder, first, second = _members(3)
    seat = rsvp_create(gathering_id=gathering.pk, member=holder)
    waiting = [rsvp_create(gathering_id=gathering.pk, member=m) for m in (first, second)]

    rsvp_cancel(rsvp_id=seat.pk, member=holder)
    rsvp_cancel(rsvp_id=seat.pk, member=holder)  # again: nothing more

    waiting[0].refresh_from_db()
    waiting[1].refresh_from_db()
    assert waiting[0].state == "confirmed" and waiting[0].confirmed_at is not None
    assert waiting[1].state == "waitlisted" and rsvp_waitlist_number(rsvp=waiting[1]) == 1
    told = _sent("event_promoted")
    assert [m.member_id for m in told] == [first.pk]
    assert "Meet the winemaker" in told[0].body and "Le Chai" in told[0].body


def test_leaving_the_waiting_list_promotes_nobody_and_moves_the_others_up(in_a):
    event_triggers_on("event_promoted")
    gathering = gathering_make(capacity=1)
    holder, first, second = _members(3)
    rsvp_create(gathering_id=gathering.pk, member=holder)
    waiting = [rsvp_create(gathering_id=gathering.pk, member=m) for m in (first, second)]

    rsvp_cancel(rsvp_id=waiting[0].pk, member=first)

    assert rsvp_waitlist_number(rsvp=Rsvp.objects.get(pk=waiting[1].pk)) == 1
    assert not _sent("event_promoted")


def test_a_member_cancels_only_their_own_answer(in_a):
    gathering = gathering_make(capacity=1)
    holder, other = _members(2)
    seat = rsvp_create(gathering_id=gathering.pk, member=holder)

    with pytest.raises(NotFound):
        rsvp_cancel(rsvp_id=seat.pk, member=other)
    assert Rsvp.objects.get(pk=seat.pk).state == "confirmed"


def test_raising_the_capacity_promotes_in_order_and_lowering_it_cancels_nobody(in_a):
    event_triggers_on("event_promoted")
    gathering = gathering_make(capacity=2)
    members = _members(6)
    answers = [rsvp_create(gathering_id=gathering.pk, member=m) for m in members]

    gathering_update(gathering_id=gathering.pk, data={"capacity": 4})
    states = [Rsvp.objects.get(pk=a.pk).state for a in answers]
    assert states == ["confirmed"] * 4 + ["waitlisted"] * 2
    assert sorted(m.member_id for m in _sent("event_promoted")) == [members[2].pk, members[3].pk]

    gathering_update(gathering_id=gathering.pk, data={"capacity": 1})
    assert Rsvp.objects.filter(gathering=gathering, state="confirmed").count() == 4
    late = rsvp_create(gathering_id=gathering.pk, member=member_make("late"))
    assert late.state == "waitlisted"
    # Three confirmed cancel: still at the capacity of 1, so nobody is promoted yet.
    for answer in answers[:3]:
        rsvp_cancel(rsvp_id=answer.pk)
    assert Rsvp.objects.filter(gathering=gathering, state="confirmed").count() == 1
    rsvp_cancel(rsvp_id=answers[3].pk)
    assert Rsvp.objects.get(pk=answers[4].pk).state == "confirmed"


def test_check_in_at_the_door(in_a):
    gathering = gathering_make(capacity=1)
    other = gathering_make(capacity=1, title="Other")
    holder, waiting = _members(2)
    seat = rsvp_create(gathering_id=gathering.pk, member=holder)
    queued = rsvp_create(gathering_id=gathering.pk, member=waiting)

    rsvp, checked = rsvp_check_in(rsvp_id=seat.pk, gathering_id=gathering.pk)
    assert checked and rsvp.checked_in_at is not None
    again, checked_again = rsvp_check_in(rsvp_id=seat.pk, gathering_id=gathering.pk)
    assert not checked_again and again.checked_in_at == rsvp.checked_in_at

    with pytest.raises(Refused) as refused:
        rsvp_check_in(rsvp_id=queued.pk, gathering_id=gathering.pk)
    assert refused.value.code == "not_confirmed"
    with pytest.raises(NotFound):
        rsvp_check_in(rsvp_id=seat.pk, gathering_id=other.pk)
    with pytest.raises(Refused) as refused:
        rsvp_cancel(rsvp_id=seat.pk)
    assert refused.value.code == "checked_in"


def test_the_reminder_is_sent_once_per_rsvp_the_day_before(in_a):
    event_triggers_on("event_reminder")
    soon = gathering_make(capacity=5, starts_in=timedelta(hours=20), title="Soon")
    later = gathering_make(capacity=5, starts_in=timedelta(days=3), title="Later")
    confirmed, waiting = _members(2)
    rsvp_create(gathering_id=soon.pk, member=confirmed)
    rsvp_create(gathering_id=later.pk, member=confirmed)
    gathering_update(gathering_id=soon.pk, data={"capacity": 1})
    rsvp_create(gathering_id=soon.pk, member=waiting)  # waitlisted: no reminder

    assert reminders_due_send() == 1
    assert reminders_due_send() == 0
    assert reminders_due_send(now=timezone.now() + timedelta(minutes=30)) == 0
    sent = _sent("event_reminder")
    assert [m.member_id for m in sent] == [confirmed.pk] and "Soon" in sent[0].body

    assert reminders_due_send(now=timezone.now() + timedelta(days=2, hours=12)) == 1  # "Later" the day before
    assert len(_sent("event_reminder")) == 2


def test_an_event_moved_after_its_reminder_is_reminded_again_the_day_before(in_a):
    event_triggers_on("event_reminder")
    gathering = gathering_make(capacity=5, starts_in=timedelta(hours=20))
    rsvp_create(gathering_id=gathering.pk, member=member_make("moved"))
    assert reminders_due_send() == 1
    starts = gathering.starts_at + timedelta(days=3)
    gathering_update(
        gathering_id=gathering.pk, data={"starts_at": starts, "ends_at": starts + timedelta(hours=2)}
    )
    gathering_update(gathering_id=gathering.pk, data={"place": "Le Chai"})  # not moved: nothing more

    assert reminders_due_send() == 0
    assert reminders_due_send(now=starts - timedelta(hours=20)) == 1
    assert reminders_due_send(now=starts - timedelta(hours=19)) == 0
    assert len(_sent("event_reminder")) == 2


def test_reminders_wait_while_no_trigger_is_on(in_a):
    gathering = gathering_make(capacity=5, starts_in=timedelta(hours=20))
    rsvp = rsvp_create(gathering_id=gathering.pk, member=member_make("early"))

    assert reminders_due_send() == 0
    assert Rsvp.objects.get(pk=rsvp.pk).reminded_at is None


def test_invitations_go_once_to_the_segment_members_who_have_not_answered(in_a):
    segment = Segment.objects.create(name="Wine lovers", filters={"tags": {"any": ["wine"]}})
    gathering = gathering_make(capacity=5)
    lovers = [member_make(f"lover-{i}", tags=["wine"], phone=f"+3361234500{i}") for i in range(3)]
    member_make("stranger", tags=["beer"])
    rsvp_create(gathering_id=gathering.pk, member=lovers[0])

    with pytest.raises(Refused) as refused:
        gathering_invitations_send(gathering_id=gathering.pk, segment=segment)
    assert refused.value.code == "no_trigger"

    event_triggers_on("event_invitation")
    assert gathering_invitations_send(gathering_id=gathering.pk, segment=segment) == 2
    assert gathering_invitations_send(gathering_id=gathering.pk, segment=segment) == 2  # the same two
    sent = _sent("event_invitation")
    assert sorted(m.member_id for m in sent) == sorted(m.pk for m in lovers[1:])
    assert f"/events/{gathering.pk}/" in sent[0].body

    with pytest.raises(InvalidInput) as invalid:
        gathering_invitations_send(gathering_id=gathering.pk)
    assert invalid.value.field == "segment"


def test_a_segments_event_is_seen_and_answered_by_its_members_only(in_a):
    segment = Segment.objects.create(name="Cellar club", filters={"tags": {"any": ["cellar"]}})
    gathering = gathering_make(visibility="segment", segment=segment, title="Private dinner")
    insider = member_make("insider", tags=["cellar"])
    outsider = member_make("outsider")

    assert gathering_for(gathering_id=gathering.pk, member=insider) is not None
    assert gathering_for(gathering_id=gathering.pk, member=outsider) is None
    assert gathering_for(gathering_id=gathering.pk, member=None) is None
    assert [g.title for g in gatherings_upcoming_for(member=outsider)] == []
    assert [g.title for g in gatherings_upcoming_for(member=insider)] == ["Private dinner"]
    with pytest.raises(NotFound):
        rsvp_create(gathering_id=gathering.pk, member=outsider)
    assert rsvp_create(gathering_id=gathering.pk, member=insider).state == "confirmed"


def test_a_club_spaces_event_is_for_those_who_may_enter_the_space(in_a):
    cellar = Segment.objects.create(name="Cellar", filters={"tags": {"any": ["cellar"]}})
    space = Space.objects.create(slug="cellar-club", name="Cellar club", entry="segment", segment=cellar)
    gathering = gathering_make(visibility="space", space=space, title="Vertical tasting")
    everyone = gathering_make(title="Open day")
    insider = member_make("insider", tags=["cellar"], phone="+33612345601")
    outsider = member_make("outsider", tags=["other"], phone="+33612345602")

    assert [g.title for g in gatherings_upcoming_for(member=insider)] == ["Vertical tasting", "Open day"]
    assert [g.title for g in gatherings_upcoming_for(member=insider, space=space)] == ["Vertical tasting"]
    assert [g.title for g in gatherings_upcoming_for(member=outsider)] == ["Open day"]
    assert gathering_for(gathering_id=gathering.pk, member=outsider) is None
    with pytest.raises(NotFound):
        rsvp_create(gathering_id=gathering.pk, member=outsider)
    assert rsvp_create(gathering_id=gathering.pk, member=insider).state == "confirmed"
    assert rsvp_create(gathering_id=everyone.pk, member=outsider).state == "confirmed"

    # Invited: the segment's members who may enter the space and have not answered.
    event_triggers_on("event_invitation")
    newcomer = member_make("newcomer", tags=["cellar", "wine"], phone="+33612345603")
    wine = Segment.objects.create(name="Wine", filters={})
    assert gathering_invitations_send(gathering_id=gathering.pk, segment=wine) == 1
    assert [m.member_id for m in _sent("event_invitation")] == [newcomer.pk]


def test_answers_are_refused_for_a_draft_a_started_or_a_cancelled_event(in_a):
    member = member_make("eager")
    draft = gathering_make(state="draft")
    begun = gathering_make(starts_in=timedelta(hours=-1))
    cancelled = gathering_make(state="cancelled")

    codes = []
    for gathering in (draft, begun, cancelled):
        with pytest.raises(Refused) as refused:
            rsvp_create(gathering_id=gathering.pk, member=member)
        codes.append(refused.value.code)
    assert codes == ["event_not_open", "event_started", "event_not_open"]
    assert not Rsvp.objects.filter(member=member).exists()


def test_cancelling_the_event_tells_each_member_who_answered_once(in_a):
    event_triggers_on("event_cancelled")
    gathering = gathering_make(capacity=1, title="Meet the winemaker")
    seated, waiting, gone = _members(3)
    rsvp_create(gathering_id=gathering.pk, member=seated)
    rsvp_create(gathering_id=gathering.pk, member=waiting)
    left = rsvp_create(gathering_id=gathering.pk, member=gone)
    rsvp_cancel(rsvp_id=left.pk, member=gone)

    gathering_update(gathering_id=gathering.pk, data={"title": "Meet the winemaker (moved)"})
    assert _sent("event_cancelled") == []
    gathering_update(gathering_id=gathering.pk, data={"state": "cancelled"})
    gathering_update(gathering_id=gathering.pk, data={"state": "cancelled"})  # saved again: nothing more

    told = _sent("event_cancelled")
    assert sorted(m.member_id for m in told) == sorted([seated.pk, waiting.pk])
    assert "Meet the winemaker (moved)" in told[0].body
    assert list(Rsvp.objects.filter(gathering=gathering).values_list("state", flat=True).order_by("pk")) == [
        "confirmed",
        "waitlisted",
        "cancelled",
    ]


def test_an_anonymised_members_seats_go_to_the_waiting_lists(in_a):
    event_triggers_on("event_promoted")
    soon, later = gathering_make(capacity=1), gathering_make(capacity=1, starts_in=timedelta(days=9))
    begun = gathering_make(capacity=1, starts_in=timedelta(days=1))
    early = gathering_make(capacity=1, starts_in=timedelta(hours=2))
    leaving, waiting = _members(2)
    seats = [rsvp_create(gathering_id=g.pk, member=leaving) for g in (soon, later, begun, early)]
    queued = [rsvp_create(gathering_id=g.pk, member=waiting) for g in (soon, later)]
    Gathering.objects.filter(pk=begun.pk).update(starts_at=timezone.now() - timedelta(minutes=5))
    rsvp_check_in(rsvp_id=seats[3].pk, gathering_id=early.pk)  # at the door before the start

    member_anonymise(member=leaving, by=None, reason="GDPR erasure")

    states = [Rsvp.objects.get(pk=r.pk).state for r in (*seats, *queued)]
    assert states == ["cancelled", "cancelled", "confirmed", "confirmed", "confirmed", "confirmed"]
    assert [m.member_id for m in _sent("event_promoted")] == [waiting.pk, waiting.pk]


def test_bad_inputs_name_their_field_and_write_nothing(in_a):
    now = timezone.now()
    good = {
        "title": "Workshop",
        "kind": "workshop",
        "place": "Atelier",
        "starts_at": now + timedelta(days=1),
        "ends_at": now + timedelta(days=1, hours=2),
        "capacity": 10,
    }
    cases = [
        ({"title": ""}, "title"),
        ({"kind": "party"}, "kind"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 10**7}, "capacity"),
        ({"ends_at": now}, "ends_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"visibility": "segment"}, "segment"),
        ({"visibility": "space"}, "space"),
        ({"visibility": "crowd"}, "visibility"),
        ({"state": "open"}, "state"),
        ({"colour": "red"}, "colour"),
        ({"place": ""}, "place"),
    ]
    for change, field in cases:
        with pytest.raises(InvalidInput) as invalid:
            gathering_validate(data={**good, **change})
        assert field in invalid.value.errors, (change, invalid.value.errors)
    assert not Gathering.objects.exists()


def test_the_attendee_list_in_csv(in_a):
    gathering = gathering_make(capacity=1)
    ada = member_make("ada", first_name="Ada", last_name="Lovelace", email="ada@example.com")
    eve = member_make("eve", first_name="=HYPERLINK(1)", last_name="Eve")
    gone = member_make("gone", first_name="Gone")
    seat = rsvp_create(gathering_id=gathering.pk, member=ada)
    rsvp_create(gathering_id=gathering.pk, member=eve)
    rsvp_cancel(rsvp_id=rsvp_create(gathering_id=gathering.pk, member=gone).pk)
    rsvp_check_in(rsvp_id=seat.pk, gathering_id=gathering.pk)

    lines = gathering_attendees_csv(gathering=gathering).splitlines()

    assert lines[0] == (
        "external_id,first_name,last_name,company,email,phone,state,waiting_list_number,answered_at,checked_in_at"
    )
    assert len(lines) == 3  # the cancelled answer is not listed
    assert lines[1].startswith("ada,Ada,Lovelace,,ada@example.com,,confirmed,,")
    assert lines[1].split(",")[-1].startswith(str(timezone.now().year))
    assert lines[2].startswith("eve,'=HYPERLINK(1),Eve,,,,waitlisted,1,") and lines[2].endswith(",")
