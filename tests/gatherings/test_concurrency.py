"""No overbooking under real concurrency: threads with their own PostgreSQL connections on committed
data (a brand of their own), released together by a barrier (`tests.support.run_concurrently`)."""

from __future__ import annotations

from django.db import connection

from gatherings.models import Rsvp
from gatherings.services import rsvp_cancel, rsvp_create
from messaging.models import Message
from tests.factories import member_make
from tests.support import run_concurrently

from .factories import event_triggers_on, gathering_make


def test_thirty_members_racing_for_the_last_five_seats(fresh_brand):
    connection.set_tenant(fresh_brand)
    event_triggers_on("event_promoted")
    gathering = gathering_make(capacity=10)
    for i in range(5):
        rsvp_create(gathering_id=gathering.pk, member=member_make(f"early-{i}"))
    racers = [member_make(f"racer-{i}", phone=f"+336123400{i:02d}") for i in range(30)]

    def answer(index: int) -> Rsvp:
        connection.set_tenant(fresh_brand)
        return rsvp_create(gathering_id=gathering.pk, member=racers[index])

    results = run_concurrently(30, answer)

    connection.set_tenant(fresh_brand)
    assert all(isinstance(result, Rsvp) for result in results), results
    confirmed = [r for r in results if r.state == Rsvp.State.CONFIRMED]
    waitlisted = sorted((r for r in results if r.state == Rsvp.State.WAITLISTED), key=lambda r: r.position)
    assert len(confirmed) == 5 and len(waitlisted) == 25
    assert Rsvp.objects.filter(gathering=gathering, state="confirmed").count() == 10
    # In order of arrival: positions 1 to 25 given one after the other, each after every seat.
    assert [r.position for r in waitlisted] == list(range(1, 26))
    arrivals = [r.created_at for r in waitlisted]
    assert arrivals == sorted(arrivals) and max(r.created_at for r in confirmed) <= arrivals[0]

    rsvp_cancel(rsvp_id=confirmed[0].pk)

    first = Rsvp.objects.get(pk=waitlisted[0].pk)
    assert first.state == "confirmed"
    assert Rsvp.objects.filter(gathering=gathering, state="confirmed").count() == 10
    told = list(Message.objects.filter(trigger="event_promoted"))
    assert [m.member_id for m in told] == [first.member_id]


def test_cancellations_and_answers_at_once_never_overbook(fresh_brand):
    connection.set_tenant(fresh_brand)
    gathering = gathering_make(capacity=3)
    holders = [member_make(f"holder-{i}") for i in range(3)]
    seats = [rsvp_create(gathering_id=gathering.pk, member=m) for m in holders]
    newcomers = [member_make(f"new-{i}") for i in range(12)]

    def work(index: int):
        connection.set_tenant(fresh_brand)
        if index < 3:
            return rsvp_cancel(rsvp_id=seats[index].pk)
        return rsvp_create(gathering_id=gathering.pk, member=newcomers[index - 3])

    results = run_concurrently(15, work)

    connection.set_tenant(fresh_brand)
    assert all(isinstance(result, Rsvp) for result in results), results
    live = Rsvp.objects.filter(gathering=gathering)
    assert live.filter(state="confirmed").count() == 3
    assert live.filter(state="waitlisted").count() == 9
