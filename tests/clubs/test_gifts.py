"""Space-only gifts: refused to a member who may not enter the space, on the site and in the API
(`catalog.selectors.gift_refusal`), given to one who may; set from the space's backoffice page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from catalog.models import Order
from clubs.services import space_gifts_set
from tests.catalog.factories import gift_make
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import error_of

from .factories import space_make

pytestmark = pytest.mark.django_db(transaction=False)
REDEEM = "/api/v1/members/{}/redemptions"


@pytest.fixture
def perk(in_a):
    space = space_make(entry="vip")
    gift = gift_make(name="Cellar tour", points_price=100, codes=["TOUR-1", "TOUR-2"])
    assert space_gifts_set(space=space, gifts=[gift]) == 1
    gift.refresh_from_db()
    return gift


def test_refused_in_the_api_to_a_non_member_given_to_a_member(api_a, perk):
    member_make("OUT-1", points=500)
    member_make("IN-1", points=500, is_vip=True)
    body = {"items": [{"gift_id": perk.pk}]}
    error = error_of(api_a.post(REDEEM.format("OUT-1"), body, headers={"Idempotency-Key": "o-1"}), 422)
    assert error["code"] == "not_your_space" and "Cellar" in error["message"]
    assert not Order.objects.exists()
    response = api_a.post(REDEEM.format("IN-1"), body, headers={"Idempotency-Key": "i-1"})
    assert response.status_code == 201, response.content
    assert api_a.get(f"/api/v1/gifts/{perk.pk}").json()["space"] == "cellar"


def test_refused_on_the_site_to_a_non_member(perk):
    member = member_make(points=500, login=True)
    client = Client(HTTP_HOST=host_of(connection.tenant))
    client.force_login(member.user)
    html = client.get(f"/gifts/{perk.pk}/").content.decode()
    assert "reserved for the members of Cellar" in html
    response = client.post(f"/gifts/{perk.pk}/redeem/", {"token": "t", "quantity": "1", "confirmed": "on"})
    assert response.status_code == 409 and not Order.objects.exists()


def test_the_space_page_lists_its_gifts_to_its_members(perk):
    member = member_make(login=True, is_vip=True)
    client = Client(HTTP_HOST=host_of(connection.tenant))
    client.force_login(member.user)
    assert "Cellar tour" in client.get("/club/cellar/").content.decode()


def test_the_space_sets_its_gifts_and_no_others(in_a):
    space, other = space_make("cellar"), space_make("golf")
    first, second = gift_make(), gift_make()
    space_gifts_set(space=space, gifts=[first, second])
    space_gifts_set(space=other, gifts=[second])
    space_gifts_set(space=space, gifts=[])
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.space_id, second.space_id) == (None, other.pk)
