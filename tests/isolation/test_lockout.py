"""Tenant isolation of the lockouts (core.lockout): every counter carries the brand's schema, so a
lockout in one brand never locks the same e-mail, nor the same address, in another brand, nor on
the operator console."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Lockout
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import key_make
from tests.support import ApiClient, error_of

EMAIL = "same-person@example.com"


def _member_in(brand) -> None:
    with schema_context(brand.schema_name):
        get_user_model().objects.create_user(username=EMAIL, email=EMAIL, password=TEST_PASSWORD)


def _login(brand, password: str, **extra):
    client = Client(HTTP_HOST=host_of(brand))
    return client, client.post("/accounts/login/", {"username": EMAIL, "password": password}, **extra)


def test_a_locked_account_in_brand_a_logs_in_to_brand_b(db, brand_a, brand_b):
    _member_in(brand_a)
    _member_in(brand_b)
    for _ in range(6):
        _login(brand_a, "wrong")
    assert _login(brand_a, TEST_PASSWORD)[1].status_code == 429
    client, response = _login(brand_b, TEST_PASSWORD)
    assert response.status_code == 302 and "_auth_user_id" in client.session
    # Five failures in brand B are still allowed: A's six never counted there.
    assert [_login(brand_b, "wrong")[1].status_code for _ in range(5)] == [200] * 5
    assert [lockout.schema_name for lockout in Lockout.objects.all()] == [brand_a.schema_name]


def test_an_address_locked_in_brand_a_logs_in_to_brand_b_and_the_console(db, brand_a, brand_b):
    _member_in(brand_b)
    spray = Client(HTTP_HOST=host_of(brand_a))
    for number in range(21):
        spray.post("/accounts/login/", {"username": f"u{number}@example.com", "password": "wrong"})
    assert _login(brand_a, TEST_PASSWORD)[1].status_code == 429
    assert _login(brand_b, TEST_PASSWORD)[1].status_code == 302
    with schema_context("public"):
        get_user_model().objects.create_superuser(
            username="op-iso", email="op@x.example", password=TEST_PASSWORD
        )
    console = Client(HTTP_HOST="localhost").post("/login/", {"username": "op-iso", "password": TEST_PASSWORD})
    assert console.status_code == 302


def test_a_reset_in_brand_b_does_not_unlock_brand_a(db, brand_a, brand_b, mailoutbox):
    _member_in(brand_a)
    _member_in(brand_b)
    for _ in range(6):
        _login(brand_a, "wrong")
    client = Client(HTTP_HOST=host_of(brand_b))
    client.post("/accounts/password-reset/", {"email": EMAIL})
    assert len(mailoutbox) == 1 and host_of(brand_b) in mailoutbox[0].body
    link = re.search(rf"://{re.escape(host_of(brand_b))}(/\S+)", mailoutbox[0].body).group(1)
    set_password = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_password, {"new_password1": "new-pass-in-b-26", "new_password2": "new-pass-in-b-26"})
    assert _login(brand_b, "new-pass-in-b-26")[1].status_code == 302
    assert _login(brand_a, TEST_PASSWORD)[1].status_code == 429
    # Brand B's reset link means nothing on brand A's host.
    assert "no longer works" in Client(HTTP_HOST=host_of(brand_a)).get(link, follow=True).content.decode()


def test_api_key_guessing_on_brand_a_does_not_block_brand_b(db, brand_a, brand_b):
    for number in range(21):
        ApiClient(brand=brand_a, key=f"lk_{number:04d}_guess").get("/api/v1/members/nobody")
    error_of(ApiClient(brand=brand_a, key="lk_0099_guess").get("/api/v1/members/nobody"), 429)
    # Brand B counts its own: the same address's unknown keys there are answered 401, not 429.
    error_of(ApiClient(brand=brand_b, key="lk_0000_guess").get("/api/v1/members/nobody"), 401)
    assert ApiClient(brand=brand_b, key=key_make(brand_b)).get("/api/v1/members/nobody").status_code == 404
