"""The backoffice's events: created and changed through the services (form errors on the field at
fault, a raised capacity promoting the waiting list), the RSVPs and waiting list on the event's
page, the attendee list in CSV, the door check-in page, invitations to a segment."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gatherings.models import Gathering, Rsvp
from gatherings.services import rsvp_create
from loyalty.models import Segment
from messaging.models import Message
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

from .factories import event_triggers_on, gathering_make

pytestmark = pytest.mark.django_db


def _form(**changes) -> dict:
    data = {
        "title": "Cellar workshop",
        "kind": "workshop",
        "description": "",
        "state": "published",
        "starts_at_0": "2030-03-12",
        "starts_at_1": "19:00:00",
        "ends_at_0": "2030-03-12",
        "ends_at_1": "21:00:00",
        "place": "Le Chai, Bordeaux",
        "capacity": "2",
        "visibility": "everyone",
        "segment": "",
        "rsvps-TOTAL_FORMS": "0",
        "rsvps-INITIAL_FORMS": "0",
        "rsvps-MIN_NUM_FORMS": "0",
        "rsvps-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_an_event_is_created_and_its_capacity_raised_promotes_the_waiting_list(staff_a):
    response = staff_a.post("/backoffice/gatherings/gathering/add/", _form())
    assert response.status_code == 302, response.content.decode()[:3000]
    gathering = Gathering.objects.get(title="Cellar workshop")
    members = [member_make(f"m-{i}", first_name=f"Guest{i}") for i in range(3)]
    for member in members:
        rsvp_create(gathering_id=gathering.pk, member=member)

    page = staff_a.get(f"/backoffice/gatherings/gathering/{gathering.pk}/change/").content.decode()
    assert "RSVPs and waiting list" in page and "Guest2" in page and "Waiting list" in page
    listing = staff_a.get("/backoffice/gatherings/gathering/").content.decode()
    assert "Cellar workshop" in listing

    response = staff_a.post(f"/backoffice/gatherings/gathering/{gathering.pk}/change/", _form(capacity="3"))
    assert response.status_code == 302
    assert Rsvp.objects.filter(gathering=gathering, state="confirmed").count() == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": "0"}, "capacity"),
        ({"ends_at_0": "2030-03-11"}, "ends_at"),
        ({"visibility": "segment"}, "segment"),
        ({"title": ""}, "title"),
    ],
)
def test_form_errors_name_their_field_and_write_nothing(staff_a, changes, field):
    response = staff_a.post("/backoffice/gatherings/gathering/add/", _form(**changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Gathering.objects.exists()


def test_the_attendee_list_downloads_as_csv(staff_a):
    gathering = gathering_make(capacity=1, title="Tasting night")
    rsvp_create(gathering_id=gathering.pk, member=member_make("ada", first_name="Ada", last_name="Lovelace"))
    rsvp_create(gathering_id=gathering.pk, member=member_make("bob", first_name="Bob"))

    response = staff_a.get(f"/backoffice/gatherings/gathering/{gathering.pk}/attendees.csv")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="event-{gathering.pk}-tasting-night.csv"' in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("external_id,first_name") and len(lines) == 3
    assert lines[1].startswith("ada,Ada,Lovelace,") and ",confirmed,," in lines[1]
    assert lines[2].startswith("bob,Bob,") and ",waitlisted,1," in lines[2]


def test_door_check_in_finds_a_name_and_checks_in_once(staff_a):
    gathering = gathering_make(capacity=1)
    ada = member_make("ada", first_name="Ada", last_name="Lovelace")
    seat = rsvp_create(gathering_id=gathering.pk, member=ada)
    queued = rsvp_create(gathering_id=gathering.pk, member=member_make("bob", first_name="Bob"))
    door = f"/backoffice/gatherings/gathering/{gathering.pk}/door/"

    page = staff_a.get(door, {"q": "love"}).content.decode()
    assert "Ada Lovelace" in page and "Bob" not in page and "Check in" in page

    response = staff_a.post(door, {"rsvp": seat.pk, "q": "love"}, follow=True)
    assert "Ada Lovelace is checked in." in response.content.decode()
    first = Rsvp.objects.get(pk=seat.pk).checked_in_at
    assert first is not None
    staff_a.post(door, {"rsvp": seat.pk})
    assert Rsvp.objects.get(pk=seat.pk).checked_in_at == first

    response = staff_a.post(door, {"rsvp": queued.pk}, follow=True)
    assert "Only a confirmed member can be checked in" in response.content.decode()
    assert Rsvp.objects.get(pk=queued.pk).checked_in_at is None
    response = staff_a.post(door, {"rsvp": "x"}, follow=True)
    assert "Choose a member to check in." in response.content.decode()


def test_staff_free_a_seat_at_the_door_and_the_waiting_list_moves_up(staff_a):
    gathering = gathering_make(capacity=1)
    other = gathering_make(capacity=1, title="Other")
    seat = rsvp_create(gathering_id=gathering.pk, member=member_make("ada", first_name="Ada"))
    queued = rsvp_create(gathering_id=gathering.pk, member=member_make("bob", first_name="Bob"))
    elsewhere = rsvp_create(gathering_id=other.pk, member=member_make("cy", first_name="Cy"))
    door = f"/backoffice/gatherings/gathering/{gathering.pk}/door/"
    assert "Free the seat" in staff_a.get(door).content.decode()

    response = staff_a.post(door, {"rsvp": elsewhere.pk, "action": "cancel"}, follow=True)
    assert "No such answer for this event" in response.content.decode()
    assert Rsvp.objects.get(pk=elsewhere.pk).state == "confirmed"

    response = staff_a.post(door, {"rsvp": seat.pk, "action": "cancel"}, follow=True)
    assert "The answer is cancelled." in response.content.decode()
    assert Rsvp.objects.get(pk=seat.pk).state == "cancelled"
    assert Rsvp.objects.get(pk=queued.pk).state == "confirmed"


def test_invitations_to_a_segment_from_the_backoffice(staff_a):
    segment = Segment.objects.create(name="Wine lovers", filters={"tags": {"any": ["wine"]}})
    gathering = gathering_make()
    member_make("lover", tags=["wine"], phone="+33612345678")
    invite = f"/backoffice/gatherings/gathering/{gathering.pk}/invite/"

    response = staff_a.post(invite, {"segment": segment.pk})
    assert response.status_code == 400 and "Event invitation" in response.content.decode()
    assert staff_a.post(invite, {"segment": ""}).status_code == 400

    event_triggers_on("event_invitation")
    response = staff_a.post(invite, {"segment": segment.pk}, follow=True)
    assert "1 invitation queued." in response.content.decode()
    assert Message.objects.filter(trigger="event_invitation").count() == 1


def test_the_events_list_and_the_door_page_read_a_bounded_number_of_queries(
    staff_a, django_assert_max_num_queries
):
    gathering = gathering_make(capacity=3)
    door = f"/backoffice/gatherings/gathering/{gathering.pk}/door/"

    def add(index: int) -> None:
        other = gathering_make(title=f"Event {index}")
        for member in (member_make(f"m-{index}-a"), member_make(f"m-{index}-b")):
            rsvp_create(gathering_id=gathering.pk, member=member)
            rsvp_create(gathering_id=other.pk, member=member)

    add(0)
    with CaptureQueriesContext(connection) as listed:
        assert staff_a.get("/backoffice/gatherings/gathering/").status_code == 200
    with CaptureQueriesContext(connection) as at_door:
        assert staff_a.get(door).status_code == 200
    for index in range(1, 6):
        add(index)
    with django_assert_max_num_queries(len(listed)):
        assert "Event 5" in staff_a.get("/backoffice/gatherings/gathering/").content.decode()
    with django_assert_max_num_queries(len(at_door)):
        assert staff_a.get(door).content.decode().count("data-rsvp=") == 12


def test_the_door_search_takes_any_text(staff_a):
    gathering = gathering_make(capacity=1)
    rsvp_create(gathering_id=gathering.pk, member=member_make("ada", first_name="Ada"))
    door = f"/backoffice/gatherings/gathering/{gathering.pk}/door/"
    response = staff_a.get(door, {"q": "A\x00da"})
    assert response.status_code == 200 and "data-rsvp=" in response.content.decode()
    assert staff_a.get("/backoffice/gatherings/gathering/", {"q": "\x00"}).status_code == 200


def test_the_attendee_list_needs_the_permission_to_see_members(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    gathering = gathering_make()
    rsvp_create(gathering_id=gathering.pk, member=member_make("ada", email="ada@example.com"))
    staff = get_user_model().objects.create_user(
        username="events@alpha.example", password=TEST_PASSWORD, is_staff=True
    )
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_gathering", "change_gathering"])
    )
    client = client_for(brand_a)
    client.post("/accounts/login/", {"username": "events@alpha.example", "password": TEST_PASSWORD})
    csv_url = f"/backoffice/gatherings/gathering/{gathering.pk}/attendees.csv"
    change = client.get(f"/backoffice/gatherings/gathering/{gathering.pk}/change/").content.decode()
    assert "Door check-in" in change and csv_url not in change
    assert client.get(csv_url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_member"))
    client = client_for(brand_a)
    client.post("/accounts/login/", {"username": "events@alpha.example", "password": TEST_PASSWORD})
    assert csv_url in client.get(f"/backoffice/gatherings/gathering/{gathering.pk}/change/").content.decode()
    assert "ada@example.com" in client.get(csv_url).content.decode()
