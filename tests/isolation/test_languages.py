"""Tenant isolation of the site's languages: one brand's languages and its members' choices change
nothing on another brand's host, and another brand's key cannot change them."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.test import Client

from loyalty.models import ProgrammeSettings
from loyalty.services.programme import programme_settings_update
from tests.conftest import host_of
from tests.support import ApiClient


def _languages(brand) -> tuple:
    connection.set_tenant(brand)
    return ProgrammeSettings.objects.values_list("site_languages", "default_language").get()


def test_one_brands_languages_leave_another_brands_site_alone(api_a, brand_b):
    connection.set_tenant(api_a.brand)
    programme_settings_update(data={"site_languages": ["fr"], "default_language": "fr"})
    connection.set_tenant(brand_b)
    programme_settings_update(data={"site_languages": ["en"], "default_language": "en"})
    assert Client(HTTP_HOST=host_of(api_a.brand)).get("/accounts/login/")["Content-Language"] == "fr"
    on_b = Client(HTTP_HOST=host_of(brand_b), HTTP_ACCEPT_LANGUAGE="fr")
    on_b.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"  # as brand A's switcher would have set it
    assert on_b.get("/accounts/login/")["Content-Language"] == "en"
    before = _languages(brand_b)
    a_key_on_b = ApiClient(brand=brand_b, key=api_a.key)
    french = {"site_languages": ["fr"], "default_language": "fr"}
    refused = a_key_on_b.send("patch", "/api/v1/programme", french)
    assert refused.status_code == 401
    assert _languages(brand_b) == before
