"""The member site's events: the list a visitor may see, an event's page, RSVP, the waiting list's
number, cancel; answering asks to log in; another segment's event is a 404 (direct URL included)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gatherings.models import Rsvp
from gatherings.services import rsvp_create
from loyalty.models import Segment
from tenants.selectors import brand_timezone
from tests.conftest import host_of
from tests.factories import member_make

from .factories import gathering_make


@pytest.fixture
def member(in_a):
    return member_make("WEB-1", login=True, first_name="Ada", language="en")


def client_of(member=None) -> Client:
    client = Client(HTTP_HOST=host_of(connection.tenant))
    if member is not None:
        client.force_login(member.user)
    return client


def page(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.content.decode()


def test_visitors_see_the_events_open_to_everyone_and_log_in_to_answer(member):
    open_event = gathering_make(title="Open tasting", capacity=3)
    gathering_make(title="Draft dinner", state="draft")
    anonymous = client_of()

    listing = page(anonymous.get("/events/"))
    assert "Open tasting" in listing and "Draft dinner" not in listing and "3 seats left" in listing
    detail = page(anonymous.get(f"/events/{open_event.pk}/"))
    assert "Log in to answer" in detail
    response = anonymous.post(f"/events/{open_event.pk}/rsvp/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert f"next=/events/{open_event.pk}/" in response["Location"]
    assert not Rsvp.objects.exists()


def test_a_member_answers_is_told_their_seat_and_cancels(member):
    gathering = gathering_make(title="Workshop", capacity=1)
    client = client_of(member)

    response = client.post(f"/events/{gathering.pk}/rsvp/", follow=True)
    html = page(response)
    assert "You are coming: your seat is booked." in html and "Cancel my seat" in html
    assert "You are coming" in page(client.get("/events/"))

    html = page(client.post(f"/events/{gathering.pk}/cancel/", follow=True))
    assert "Your answer is cancelled." in html and "I am coming" in html
    assert Rsvp.objects.get(member=member).state == "cancelled"


def test_a_full_event_puts_the_member_on_the_waiting_list_with_their_number(member):
    gathering = gathering_make(capacity=1)
    rsvp_create(gathering_id=gathering.pk, member=member_make("first"))
    rsvp_create(gathering_id=gathering.pk, member=member_make("second"))
    client = client_of(member)

    assert "Join the waiting list" in page(client.get(f"/events/{gathering.pk}/"))
    html = page(client.post(f"/events/{gathering.pk}/rsvp/", follow=True))
    assert "You are number 2 on the waiting list." in html and "Leave the waiting list" in html


def test_the_pages_speak_french(member):
    member.language = "fr"
    member.save(update_fields=["language"])
    gathering = gathering_make(capacity=2)
    client = client_of(member)
    client.cookies["django_language"] = "fr"

    html = page(client.get(f"/events/{gathering.pk}/", HTTP_ACCEPT_LANGUAGE="fr"))
    assert "Je viens" in html and "2 places restantes" in html


def test_another_segments_event_is_a_404_and_cannot_be_answered(member):
    segment = Segment.objects.create(name="Cellar", filters={"tags": {"any": ["cellar"]}})
    private = gathering_make(title="Private dinner", visibility="segment", segment=segment)
    client = client_of(member)

    assert "Private dinner" not in page(client.get("/events/"))
    assert client.get(f"/events/{private.pk}/").status_code == 404
    assert client.post(f"/events/{private.pk}/rsvp/").status_code == 404
    assert client_of().get(f"/events/{private.pk}/").status_code == 404
    assert client.get("/events/999999/").status_code == 404
    assert not Rsvp.objects.exists()

    member.tags = ["cellar"]
    member.save(update_fields=["tags"])
    assert "Private dinner" in page(client.get(f"/events/{private.pk}/"))


def test_a_refusal_is_said_in_the_members_words(member):
    from datetime import timedelta

    begun = gathering_make(starts_in=timedelta(minutes=-5))
    html = page(client_of(member).post(f"/events/{begun.pk}/rsvp/", follow=True))
    assert "This event has already begun." in html
    assert not Rsvp.objects.exists()


def test_the_events_page_gives_the_end_time_alone_on_the_same_day_in_each_language(in_a):
    zone = brand_timezone()
    starts = datetime(2030, 12, 8, 18, 27, tzinfo=zone)
    same_day = gathering_make(title="Evening", starts_at=starts, ends_at=starts + timedelta(hours=2))
    overnight = gathering_make(title="Night", starts_at=starts, ends_at=starts + timedelta(hours=8))
    french = member_make("WEB-FR", login=True, language="fr")
    english = member_make("WEB-EN", login=True, language="en")

    def when(member, gathering) -> str:
        html = page(client_of(member).get(f"/events/{gathering.pk}/"))
        return html.split("<dd>", 1)[1].split("</dd>", 1)[0].replace("\u202f", " ").replace("\xa0", " ")

    assert when(french, same_day) == "8 déc. 2030, 18:27 \u2013 20:27"
    assert when(english, same_day) == "Dec 8, 2030, 6:27 PM \u2013 8:27 PM"
    assert when(french, overnight) == "8 déc. 2030, 18:27 \u2013 9 déc. 2030, 02:27"


def test_the_events_list_reads_a_bounded_number_of_queries(member, django_assert_max_num_queries):
    segment = Segment.objects.create(name="Everyone", filters={})
    client = client_of(member)

    def add(index: int) -> None:
        for data in ({}, {"visibility": "segment", "segment": segment}):
            gathering = gathering_make(title=f"Event {index}", capacity=1, **data)
            rsvp_create(gathering_id=gathering.pk, member=member)

    add(0)
    with CaptureQueriesContext(connection) as few:
        page(client.get("/events/"))
    for index in range(1, 6):
        add(index)
    with django_assert_max_num_queries(len(few)):
        html = page(client.get("/events/"))
    assert html.count("You are coming") == 12
