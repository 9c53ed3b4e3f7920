"""Tenant isolation of sign-up, verification and invitations: a link of brand A does nothing on
brand B's host (even for a login or member with the same id there), and B's key cannot invite A's
members."""

from __future__ import annotations

import re
import uuid

from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client

from loyalty.models import Member, Signup
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import ApiClient, error_of

PASSWORD = "a-long-join-pass-2026"
# A new address each run: sign-up e-mails per address and hour are limited (loyalty.services.signup).
TWIN = f"twin-{uuid.uuid4().hex[:8]}@example.com"


def _path(message, kind: str) -> str:
    return re.search(rf"https?://[^/\s]+(/join/{kind}/\S+/)", message.body).group(1)


def test_a_verification_link_of_brand_a_fails_on_brand_b(brand_a, brand_b, db):
    connection.set_tenant(brand_a)
    member_make("ISO-J1", email=TWIN)
    site_a = Client(HTTP_HOST=host_of(brand_a))
    site_a.post(
        "/join/",
        {
            "first_name": "T",
            "last_name": "W",
            "email": TWIN,
            "password": PASSWORD,
            "terms": "on",
        },
    )
    path = _path(mail.outbox[0], "verify")
    # Brand B has a pending sign-up of the same address, and maybe a login with the same id.
    connection.set_tenant(brand_b)
    member_make("ISO-J1", email=TWIN)
    Client(HTTP_HOST=host_of(brand_b)).post(
        "/join/",
        {
            "first_name": "T",
            "last_name": "W",
            "email": TWIN,
            "password": PASSWORD,
            "terms": "on",
        },
    )
    page = Client(HTTP_HOST=host_of(brand_b)).get(path)
    assert page.status_code == 400
    connection.set_tenant(brand_b)
    assert Member.objects.get(external_id="ISO-J1").user is None
    assert not Signup.objects.filter(verified_at__isnull=False).exists()
    connection.set_tenant(brand_a)
    assert Member.objects.get(external_id="ISO-J1").user is None


def test_an_invitation_of_brand_a_fails_on_brand_b(api_a, brand_b):
    connection.set_tenant(api_a.brand)
    member_make("ISO-I1", email="inv@example.com")
    connection.set_tenant(brand_b)
    member_make("ISO-I1", email="inv@example.com")
    assert api_a.post("/api/v1/members/ISO-I1/invitations").status_code == 201
    path = _path(mail.outbox[0], "invitation")
    site_b = Client(HTTP_HOST=host_of(brand_b))
    assert site_b.get(path).status_code == 400
    response = site_b.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 400
    connection.set_tenant(brand_b)
    assert not get_user_model().objects.filter(username="inv@example.com").exists()
    assert Member.objects.get(external_id="ISO-I1").user is None


def test_brand_b_key_cannot_invite_brand_a_members(api_a, api_b):
    connection.set_tenant(api_a.brand)
    member_make("ISO-I2", email="only-a@example.com")
    assert error_of(api_b.post("/api/v1/members/ISO-I2/invitations"), 404)["field"] == "external_id"
    # A's key presented on B's host is no key there.
    assert (
        ApiClient(brand=api_b.brand, key=api_a.key).post("/api/v1/members/ISO-I2/invitations").status_code
        == 401
    )
    assert mail.outbox == []
