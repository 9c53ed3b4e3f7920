"""Staff accounts across brands: brand A's staff user never logs in on brand B's host (the
backoffice's login or the site's), and an invitation link of A is no link on B's host."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client

from core.staff import staff_invite
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import staff_make


def test_brand_as_staff_user_cannot_log_in_on_brand_bs_host(db, brand_a, brand_b):
    connection.set_tenant(brand_a)
    user = staff_make("owner", username="ana@staff.example")
    connection.set_schema_to_public()
    login = {"username": user.username, "password": TEST_PASSWORD}
    on_b = Client(HTTP_HOST=host_of(brand_b))
    for path in ("/backoffice/login/", "/accounts/login/"):
        response = on_b.post(path, login)
        assert response.status_code == 200 and "_auth_user_id" not in on_b.session, path
    assert on_b.get("/backoffice/password_change/")["Location"].startswith("/backoffice/login/")
    on_a = Client(HTTP_HOST=host_of(brand_a))
    assert on_a.post("/backoffice/login/", login).status_code == 302


def test_an_invitation_link_of_brand_a_does_not_work_on_brand_bs_host(db, brand_a, brand_b, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    connection.set_tenant(brand_b)
    bystander = staff_make("support")  # B has a login with the same id range
    connection.set_tenant(brand_a)
    invited = staff_invite(
        email="bea@staff.example", role="manager", by=None, base_url=f"http://{host_of(brand_a)}/"
    )
    connection.set_schema_to_public()
    path = re.search(r"https?://[^/\s]+(/backoffice/invitation/\S+/)", mail.outbox[0].body).group(1)
    on_b = Client(HTTP_HOST=host_of(brand_b))
    assert on_b.get(path).status_code == 410
    password = "a-stolen-link-pass-2026"
    assert on_b.post(path, {"password1": password, "password2": password}).status_code == 410
    connection.set_tenant(brand_b)
    assert not get_user_model().objects.filter(username="bea@staff.example").exists()
    assert not get_user_model().objects.get(pk=bystander.pk).check_password(password)
    connection.set_tenant(brand_a)
    assert not get_user_model().objects.get(pk=invited.pk).has_usable_password()
    connection.set_schema_to_public()
    assert Client(HTTP_HOST=host_of(brand_a)).get(path).status_code == 200
