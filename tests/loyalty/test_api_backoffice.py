"""Backoffice: create an API key (shown once), list the keys, revoke them."""

from __future__ import annotations

import re

from django.db import connection

from core.models import ApiKey
from tests.support import ApiClient, error_of

URL = "/backoffice/core/apikey/"


def test_staff_create_a_key_shown_once_list_it_and_revoke_it(db, brand_a, staff_for):
    client = staff_for(brand_a)
    assert client.get(URL + "add/").status_code == 200
    form = {"name": "Shop checkout", "rate_limit_per_minute": "120", "scopes": ["members:read"]}
    response = client.post(URL + "add/", form)
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    page = response.content.decode()
    shown = re.search(r'<pre id="api-key"[^>]*>(lk_[^<]+)</pre>', page)
    assert shown, page
    key = shown.group(1)
    assert page.count(key) == 1  # once, in the one place to copy it from
    api = ApiClient(brand=brand_a, key=key)
    assert api.get("/api/v1/members/nobody").status_code == 404  # the key works

    connection.set_tenant(brand_a)
    api_key = ApiKey.objects.get(name="Shop checkout")
    assert api_key.rate_limit_per_minute == 120
    assert api_key.scopes == ["members:read"]
    listing = client.get(URL).content.decode()
    assert api_key.prefix in listing
    assert key not in listing
    assert key not in client.get(f"{URL}{api_key.pk}/change/").content.decode()

    response = client.post(URL, {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True)
    assert response.status_code == 200
    error_of(api.get("/api/v1/members/nobody"), 401)
    connection.set_tenant(brand_a)
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_create_form_errors_create_nothing_and_keys_cannot_be_deleted(db, brand_a, staff_for):
    client = staff_for(brand_a)
    connection.set_tenant(brand_a)
    before = ApiKey.objects.count()
    response = client.post(URL + "add/", {"name": "", "rate_limit_per_minute": "0"})
    assert response.status_code == 200
    assert "lk_" not in response.content.decode()
    assert "This field is required" in response.content.decode()
    connection.set_tenant(brand_a)
    assert ApiKey.objects.count() == before
    api_key = ApiKey.objects.create(name="old", prefix="deadbeef", key_hash="0" * 64)
    assert client.get(f"{URL}{api_key.pk}/delete/").status_code == 403


def test_anonymous_visitors_cannot_create_keys(db, brand_a, client_for):
    response = client_for(brand_a).post(URL + "add/", {"name": "x", "rate_limit_per_minute": "5"})
    assert response.status_code == 302
    connection.set_tenant(brand_a)
    assert not ApiKey.objects.filter(name="x").exists()
