"""Tenant isolation of the member site's account pages and of the offers: brand B's sales rep sees
nothing of brand A, a member's session of A is nobody on B's host, A's offers do not exist for B's
API key nor for B's members."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from loyalty.services.members import member_sales_rep_set
from loyalty.services.offers import offer_save
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import member_make
from tests.support import error_of


def test_b_sales_rep_sees_nothing_of_a(db, brand_a, brand_b):
    connection.set_tenant(brand_a)
    rep_a = get_user_model().objects.create_user(username="rep@example.com", is_staff=True)
    member_sales_rep_set(member=member_make("ISO-REP", first_name="Only-in-A"), by=rep_a, sales_rep=rep_a)
    connection.set_tenant(brand_b)
    rep_b = get_user_model().objects.create_user(username="rep@example.com", is_staff=True)
    member_sales_rep_set(member=member_make("B-1", first_name="Of-B"), by=rep_b, sales_rep=rep_b)
    client = Client(HTTP_HOST=host_of(brand_b))
    client.force_login(rep_b)
    html = client.get("/account/portfolio/").content.decode()
    assert "Of-B" in html and "Only-in-A" not in html
    assert client.get("/account/portfolio/ISO-REP/").status_code == 404


def test_a_members_session_is_nobody_on_b_host(db, brand_a, brand_b):
    connection.set_tenant(brand_a)
    member = member_make("ISO-SESSION", login=True, first_name="Alpha-only")
    client = Client(HTTP_HOST=host_of(brand_a))
    login = {"username": member.user.username, "password": TEST_PASSWORD}
    assert client.post("/accounts/login/", login).status_code == 302
    assert "Alpha-only" in client.get("/account/").content.decode()
    for path in ("/account/", "/account/balance.json", "/account/history/", "/account/profile/"):
        response = client.get(path, HTTP_HOST=host_of(brand_b))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], path


def test_a_offers_do_not_exist_for_b(api_a, api_b):
    connection.set_tenant(api_a.brand)
    now = timezone.now()
    offer = offer_save(
        data={
            "title": "Alpha offer",
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(days=1),
        }
    )
    assert api_b.get("/api/v1/offers").json() == []
    error_of(api_b.get(f"/api/v1/offers/{offer.pk}"), 404)
    error_of(api_b.put(f"/api/v1/offers/{offer.pk}", {"title": "Taken"}), 404)
    error_of(api_b.delete(f"/api/v1/offers/{offer.pk}"), 404)
    connection.set_tenant(api_b.brand)
    member_b = member_make(login=True)
    client = Client(HTTP_HOST=host_of(api_b.brand))
    client.force_login(member_b.user)
    assert "Alpha offer" not in client.get("/account/").content.decode()
    connection.set_tenant(api_a.brand)
    offer.refresh_from_db()
    assert offer.title == "Alpha offer"
