"""Tenant isolation of club spaces: brand B's host, its members' sessions and its API key see
nothing of brand A's spaces, pages and offers (direct URLs and slugs included), and brand A's
confidential code does nothing on B, even for a space of the same slug."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from clubs.models import SpaceGrant
from clubs.services import space_code_issue
from tests.clubs.factories import content_make, space_make
from tests.conftest import host_of
from tests.factories import member_make
from tests.gatherings.factories import gathering_make
from tests.support import error_of

SECRETS = ("Rare vintages", "Partner hotel", "HOTEL-SECRET-10", "Cellar")


def _a_space(brand_a, **fields):
    connection.set_tenant(brand_a)
    space = space_make("cellar", **fields)
    _page, offer = content_make(space)
    return space, offer


def test_bs_host_and_sessions_see_nothing_of_as_spaces(db, brand_a, brand_b):
    _space, offer = _a_space(brand_a, entry="vip")
    on_a = Client(HTTP_HOST=host_of(brand_a))
    on_a.force_login(member_make("iso-club-a", login=True, is_vip=True).user)
    assert on_a.get("/club/cellar/").status_code == 200
    connection.set_tenant(brand_b)
    b_vip = member_make("iso-club-b", login=True, is_vip=True)
    on_b = Client(HTTP_HOST=host_of(brand_b))
    on_b.force_login(b_vip.user)
    assert not any(secret in on_b.get("/club/").content.decode() for secret in SECRETS)
    for url in ("/club/cellar/", "/club/cellar/vintages/", f"/club/cellar/offers/{offer.pk}/"):
        assert on_b.get(url).status_code == 404, url
    # A's member's session cookie, sent to B's host: no session there, no content.
    a_session = Client(HTTP_HOST=host_of(brand_b))
    a_session.cookies = on_a.cookies
    assert a_session.get("/club/cellar/").status_code == 404
    assert "Rare vintages" not in a_session.get("/club/").content.decode()


def test_bs_api_key_sees_nothing_of_as_spaces(api_a, api_b):
    _a_space(api_a.brand, entry="vip")
    member_make("iso-api-a", is_vip=True)
    assert [space["slug"] for space in api_a.get("/api/v1/club-spaces").json()] == ["cellar"]
    assert api_a.get("/api/v1/members/iso-api-a/club-spaces").json()[0]["may_enter"] is True
    assert api_b.get("/api/v1/club-spaces").json() == []
    error_of(api_b.get("/api/v1/club-spaces/cellar"), 404)
    error_of(api_b.get("/api/v1/members/iso-api-a/club-spaces"), 404)


@pytest.mark.django_db
def test_as_code_does_nothing_on_b(brand_a, brand_b):
    connection.set_tenant(brand_a)
    issued = space_code_issue(space=space_make("pharma", entry="code"))
    connection.set_tenant(brand_b)
    space_make("pharma", entry="code")
    member = member_make("iso-code-b", login=True)
    client = Client(HTTP_HOST=host_of(brand_b))
    client.force_login(member.user)
    response = client.post("/club/pharma/code/", {"code": issued.code})
    assert response.status_code == 200 and "This code is not right." in response.content.decode()
    connection.set_tenant(brand_b)
    assert not SpaceGrant.objects.exists()


def test_bs_space_of_the_same_slug_lists_none_of_as_events(db, brand_a, brand_b):
    space, _offer = _a_space(brand_a, entry="vip")
    gathering_make(title="Only in the cellar of A", visibility="space", space=space)
    on_a = Client(HTTP_HOST=host_of(brand_a))
    on_a.force_login(member_make("iso-club-events-a", login=True, is_vip=True).user)
    assert "Only in the cellar of A" in on_a.get("/club/cellar/").content.decode()
    connection.set_tenant(brand_b)
    space_make("cellar", entry="vip")
    on_b = Client(HTTP_HOST=host_of(brand_b))
    on_b.force_login(member_make("iso-club-events-b", login=True, is_vip=True).user)
    response = on_b.get("/club/cellar/")
    assert response.status_code == 200 and "Only in the cellar of A" not in response.content.decode()
