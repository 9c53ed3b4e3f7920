"""Tenant isolation of events with limited seats: brand B's host, its members' and staff's
sessions and its API key see and change nothing of brand A's events (direct ids included)."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from gatherings.models import Gathering, Rsvp
from gatherings.services import rsvp_create
from tests.conftest import host_of
from tests.factories import member_make
from tests.gatherings.factories import gathering_make
from tests.support import error_of


def _a_event(brand_a):
    connection.set_tenant(brand_a)
    gathering = gathering_make(title="Only in A", capacity=3)
    seat = rsvp_create(gathering_id=gathering.pk, member=member_make("iso-a", first_name="Alice"))
    return gathering, seat


def test_bs_api_key_sees_nothing_of_as_events(api_a, api_b):
    gathering, _ = _a_event(api_a.brand)
    connection.set_tenant(api_b.brand)
    assert not Gathering.objects.filter(pk=gathering.pk).exists()

    assert "Only in A" not in api_b.get("/api/v1/gatherings").content.decode()
    error_of(api_b.get(f"/api/v1/gatherings/{gathering.pk}"), 404)
    error_of(api_b.get(f"/api/v1/gatherings/{gathering.pk}/rsvps"), 404)
    assert api_a.get(f"/api/v1/gatherings/{gathering.pk}").json()["confirmed"] == 1


def test_bs_host_and_member_session_cannot_see_or_answer_as_events(db, brand_a, brand_b):
    gathering, _ = _a_event(brand_a)
    a_member = member_make("iso-a-web", login=True)
    a_client = Client(HTTP_HOST=host_of(brand_a))
    a_client.force_login(a_member.user)
    connection.set_tenant(brand_b)
    assert not Gathering.objects.filter(pk=gathering.pk).exists()
    b_member = member_make("iso-b-web", login=True)
    b_client = Client(HTTP_HOST=host_of(brand_b))
    b_client.force_login(b_member.user)

    assert "Only in A" not in b_client.get("/events/").content.decode()
    assert b_client.get(f"/events/{gathering.pk}/").status_code == 404
    assert b_client.post(f"/events/{gathering.pk}/rsvp/").status_code == 404
    # A's session cookie presented on B's host is nobody there: answering asks to log in.
    a_on_b = Client(HTTP_HOST=host_of(brand_b))
    a_on_b.cookies = a_client.cookies
    response = a_on_b.post(f"/events/{gathering.pk}/rsvp/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    connection.set_tenant(brand_a)
    assert Rsvp.objects.filter(gathering=gathering).count() == 1


def test_bs_staff_cannot_export_check_in_or_invite_for_as_events(db, brand_a, brand_b, staff_for):
    gathering, seat = _a_event(brand_a)
    staff_b = staff_for(brand_b)
    connection.set_tenant(brand_b)
    assert not Gathering.objects.filter(pk=gathering.pk).exists()
    base = f"/backoffice/gatherings/gathering/{gathering.pk}"

    assert staff_b.get(f"{base}/attendees.csv").status_code == 404
    assert staff_b.get(f"{base}/door/").status_code == 404
    assert staff_b.post(f"{base}/door/", {"rsvp": seat.pk}).status_code == 404
    assert staff_b.post(f"{base}/invite/", {"segment": "1"}).status_code == 404

    connection.set_tenant(brand_a)
    assert Rsvp.objects.get(pk=seat.pk).checked_in_at is None
