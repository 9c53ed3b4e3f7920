"""The backoffice's own pages (backoffice/urls.py, outside the admin's registry) per role: each
page whose permission the rules name answers it for every role, and every page behind the staff
login (`admin_view`) opens nothing to a staff user without a role."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from core.models import StaffProfile
from core.roles import role_allows
from tests.conftest import host_of

# The pages and the permission each needs (README "Backoffice roles").
PAGES = {
    "backoffice:dashboard": "backoffice.view_dashboard",
    "backoffice:audit": "core.view_auditentry",
    "backoffice:jobs": "core.view_job",
    "backoffice:staff_settings": "core.manage_staff",
}
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


# Pages before or without the staff login (its stylesheet, an invitation, the second factor).
BEFORE_LOGIN = {"colors", "staff_invitation", "two_factor", "two_factor_setup"}


def _behind_login() -> list[str]:
    """Every other backoffice URL, its values filled."""
    resolver = get_resolver().namespace_dict["backoffice"][1]
    found = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLPattern) and pattern.name not in BEFORE_LOGIN:
            route = _CONVERTER.sub(lambda m: "1" if m.group(1) == "int" else "x", str(pattern.pattern))
            found.append(f"/backoffice/{route}")
    return found


def _client(brand, role: str | None) -> Client:
    username = f"{role or 'none'}-pages@staff.example"
    user = get_user_model().objects.create_user(username=username, is_staff=True)
    if role:
        StaffProfile.objects.create(user=user, role=role)
    client = Client(HTTP_HOST=host_of(brand), raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [role.value for role in StaffProfile.Role])
def test_each_named_page_answers_its_permission(db, brand_a, role):
    connection.set_tenant(brand_a)
    client = _client(brand_a, role)
    for name, permission in PAGES.items():
        status = client.get(reverse(name), follow=True).status_code
        assert (status == 200) == role_allows(role=role, perm=permission), (name, status)
        assert status in (200, 403), (name, status)


def test_a_staff_user_without_a_role_opens_no_backoffice_page(db, brand_a):
    connection.set_tenant(brand_a)
    urls = _behind_login()
    assert len(urls) >= 8
    client = _client(brand_a, None)
    opened = [url for url in urls if client.get(url, follow=True).status_code == 200]
    assert not opened, opened
