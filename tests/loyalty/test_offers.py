"""Personalised offers: the API (list, create, read, change, delete, bad inputs), the backoffice
page, and the dashboard showing an offer once to the members of its segment, between its dates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from loyalty.models import Offer, OfferSeen
from loyalty.services.offers import offer_save
from loyalty.services.segments import segment_save
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import error_of

NOW = timezone.now()
WINDOW = {
    "starts_at": (NOW - timedelta(days=1)).isoformat(),
    "ends_at": (NOW + timedelta(days=7)).isoformat(),
}


def dashboard(member) -> str:
    client = Client(HTTP_HOST=host_of(connection.tenant))
    client.force_login(member.user)
    response = client.get("/account/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def vip_segment(in_a):
    return segment_save(data={"name": "VIPs", "filters": {"vip": True}})


def test_offers_are_created_read_changed_listed_and_deleted(api_a, vip_segment):
    body = {"title": "Double points", "text": "All week", "link": "https://alpha.example/x", **WINDOW}
    created = api_a.post("/api/v1/offers", {**body, "segment": vip_segment.pk})
    assert created.status_code == 201, created.content
    offer = created.json()
    assert (
        offer["segment"] == vip_segment.pk
        and offer["title"] == "Double points"
        and offer["image_url"] is None
    )
    path = f"/api/v1/offers/{offer['id']}"
    assert api_a.get(path).json() == offer
    changed = api_a.put(path, {"title": "Triple points", "segment": None})
    assert changed.status_code == 200 and changed.json()["title"] == "Triple points"
    assert changed.json()["segment"] is None and changed.json()["text"] == "All week"
    assert [o["id"] for o in api_a.get("/api/v1/offers").json()] == [offer["id"]]
    assert api_a.delete(path).status_code == 204
    assert error_of(api_a.get(path), 404)["field"] == "offer_id"
    assert error_of(api_a.put(path, {"title": "x"}), 404)["field"] == "offer_id"
    assert error_of(api_a.delete(path), 404)["field"] == "offer_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "no title"}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"title": "Dates", "ends_at": WINDOW["starts_at"], "starts_at": WINDOW["ends_at"]}, "ends_at"),
        ({"title": "Bad link", "link": "javascript:alert(1)"}, "link"),
        ({"title": "Bad link", "link": "ftp://alpha.example/x"}, "link"),
        ({"title": "No segment", "segment": 999999}, "segment"),
        ({"title": "Bad date", "starts_at": "tomorrow"}, "starts_at"),
        ({"title": "Year 375", "starts_at": "0375-10-16T02:56:03-01:03"}, "starts_at"),
        ({"title": "Year 2300", "ends_at": "2300-01-01T00:00:00+01:00"}, "ends_at"),
        ({"title": "Unknown", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_offer_is_refused_naming_the_field_and_writes_nothing(api_a, body, field):
    full = {**WINDOW, **body} if "starts_at" not in body else {"ends_at": WINDOW["ends_at"], **body}
    error = error_of(api_a.post("/api/v1/offers", full), 400)
    assert error["field"] == field, error
    connection.set_tenant(api_a.brand)
    assert not Offer.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(api_a):
    assert error_of(api_a.post("/api/v1/offers", ["title"]), 400)["field"] == "body"


def test_the_offer_is_shown_once_to_the_members_of_its_segment(in_a, vip_segment):
    offer_save(
        data={
            "title": "Lounge access <b>now</b>",
            "text": "For you",
            "link": "https://alpha.example/lounge",
            "segment": vip_segment,
            "starts_at": NOW - timedelta(hours=1),
            "ends_at": NOW + timedelta(days=1),
        }
    )
    vip = member_make(login=True, is_vip=True)
    other = member_make(login=True)
    first = dashboard(vip)
    assert "Lounge access &lt;b&gt;now&lt;/b&gt;" in first and 'href="https://alpha.example/lounge"' in first
    assert "Lounge access" not in dashboard(vip)
    assert OfferSeen.objects.filter(member=vip).count() == 1
    assert "Lounge access" not in dashboard(other)


def test_an_offer_for_everyone_is_shown_only_between_its_dates(in_a):
    member = member_make(login=True)
    offer_save(
        data={"title": "Later", "starts_at": NOW + timedelta(days=1), "ends_at": NOW + timedelta(days=2)}
    )
    offer_save(
        data={"title": "Over", "starts_at": NOW - timedelta(days=2), "ends_at": NOW - timedelta(days=1)}
    )
    offer_save(
        data={"title": "Running", "starts_at": NOW - timedelta(days=1), "ends_at": NOW + timedelta(days=1)}
    )
    html = dashboard(member)
    assert "Running" in html and "Later" not in html and "Over" not in html


def test_the_backoffice_lists_adds_and_refuses_offers(staff_a, vip_segment):
    assert staff_a.get("/backoffice/loyalty/offer/").status_code == 200
    data = {
        "title": "Spring",
        "text": "",
        "link": "",
        "segment": vip_segment.pk,
        "starts_at_0": "2026-03-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-02-01",
        "ends_at_1": "00:00:00",
    }
    refused = staff_a.post("/backoffice/loyalty/offer/add/", data)
    assert refused.status_code == 200 and "must be after starts_at" in refused.content.decode()
    response = staff_a.post("/backoffice/loyalty/offer/add/", {**data, "ends_at_0": "2026-04-01"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Offer.objects.get().segment == vip_segment
    assert "Spring" in staff_a.get("/backoffice/loyalty/offer/").content.decode()
