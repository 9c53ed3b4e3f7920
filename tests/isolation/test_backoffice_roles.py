"""Isolation of roles and API key scopes: a role is a brand's (its staff profile lives in the
brand's schema), so an owner of brand A is nobody on brand B; a key of brand B, whatever its
scopes, reaches nothing of brand A."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_tenants.utils import schema_context

from core.apikeys import api_key_create
from core.models import StaffProfile
from core.roles import user_role
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import member_make
from tests.support import ApiClient, error_of


def test_an_owner_of_a_is_nobody_on_b(db, brand_a, brand_b):
    with schema_context(brand_a.schema_name):
        owner = get_user_model().objects.create_user(
            username="owner-iso@staff.example", password=TEST_PASSWORD, is_staff=True
        )
        StaffProfile.objects.create(user=owner, role=StaffProfile.Role.OWNER)
        assert user_role(owner) == "owner"
    with schema_context(brand_b.schema_name):
        assert not get_user_model().objects.filter(username="owner-iso@staff.example").exists()
        assert not StaffProfile.objects.filter(
            role=StaffProfile.Role.OWNER, user__is_superuser=False
        ).exists()
    connection.set_tenant(brand_a)
    client = Client(HTTP_HOST=host_of(brand_a))
    client.force_login(owner)
    assert client.get(reverse("admin:core_apikey_changelist")).status_code == 200
    # The same session cookie on B's host opens nothing there: B's login page.
    on_b = Client(HTTP_HOST=host_of(brand_b))
    on_b.cookies = client.cookies
    response = on_b.get(reverse("admin:core_apikey_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]
    response = on_b.post(
        "/accounts/login/", {"username": "owner-iso@staff.example", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200  # the form again: no such login on B


def test_a_key_of_b_with_every_scope_reaches_nothing_of_a(db, brand_a, brand_b):
    connection.set_tenant(brand_a)
    member = member_make("iso-scope")
    with schema_context(brand_b.schema_name):
        _, key_b = api_key_create(name="B all", scopes=["*"])
    as_b_on_a = ApiClient(brand=brand_a, key=key_b, raise_errors=False)
    assert error_of(as_b_on_a.get(f"/api/v1/members/{member.external_id}"), 401)
    error_of(
        as_b_on_a.post(f"/api/v1/members/{member.external_id}/adjustments", {"points": 5, "reason": "x"}), 401
    )
    # A's own key limited to another area is refused A's members, naming the scope.
    with schema_context(brand_a.schema_name):
        _, key_a = api_key_create(name="A themes", scopes=["themes:read"])
    error = error_of(ApiClient(brand=brand_a, key=key_a).get(f"/api/v1/members/{member.external_id}"), 403)
    assert error["code"] == "scope_missing" and "members:read" in error["message"]
