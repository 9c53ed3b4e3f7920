"""The backoffice's look and navigation (django-unfold, `backoffice.navigation`): unfold's pages, the
sidebar by task showing each item only to staff allowed to open it, every list in it, the brand's
name and logo, the FR/EN switch, the header's member search box."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from backoffice.navigation import SIDEBAR, Model, Page, sidebar
from core.models import StaffProfile
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import staff_make

ROLES = [role.value for role in StaffProfile.Role]


@pytest.fixture
def brand(db, brand_a):
    connection.set_tenant(brand_a)
    return brand_a


def _client(client_for, brand, user):
    client = client_for(brand)
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _request(brand, user):
    request = RequestFactory().get("/backoffice/", HTTP_HOST=host_of(brand))
    request.user = user
    request.tenant = brand
    return request


def test_every_registered_list_has_its_place_in_the_sidebar(brand):
    placed = {
        apps.get_model(item.label) for _title, items in SIDEBAR for item in items if isinstance(item, Model)
    }
    assert set(admin.site._registry) == placed


@pytest.mark.parametrize("role", ROLES)
def test_the_sidebar_shows_each_item_only_with_its_permission(brand, role):
    user = staff_make(role)
    request = _request(brand, user)
    shown = {item["link"] for group in sidebar(request) for item in group["items"]}
    for _title, items in SIDEBAR:
        for item in items:
            if isinstance(item, Model):
                model = apps.get_model(item.label)
                url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
                allowed = admin.site._registry[model].has_view_or_change_permission(request)
            else:
                try:
                    url = reverse(item.url_name)
                except Exception:  # a page not built yet is left out
                    continue
                allowed = item.permission is None or user.has_perm(item.permission)
            assert (url in shown) == allowed, (role, url)


def test_a_sales_rep_sees_members_but_no_settings_and_the_owner_sees_staff_and_api_keys(brand):
    titles = {
        role: [str(group["title"]) for group in sidebar(_request(brand, staff_make(role)))] for role in ROLES
    }
    assert "Members" in titles["sales_rep"]
    assert not {"Programme", "Settings"} & set(titles["sales_rep"])
    owner_links = {
        item["link"] for group in sidebar(_request(brand, staff_make("owner"))) for item in group["items"]
    }
    assert {reverse("admin:core_apikey_changelist"), reverse("admin:auth_user_changelist")} <= owner_links
    manager_links = {
        item["link"] for group in sidebar(_request(brand, staff_make("manager"))) for item in group["items"]
    }
    assert reverse("admin:core_apikey_changelist") not in manager_links
    assert reverse("admin:auth_user_changelist") not in manager_links


def test_the_index_is_unfolds_page_with_the_brands_name_and_the_sidebar(brand, client_for):
    from loyalty.models import ProgrammeSettings

    ProgrammeSettings.objects.update(programme_name="Club Alpha")
    page = _client(client_for, brand, staff_make("owner")).get("/backoffice/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/unfold/css/styles.css" in html
    assert reverse("backoffice:colors") in html
    assert "Club Alpha" in html
    assert 'id="nav-sidebar' in html and reverse("admin:loyalty_member_changelist") in html
    assert 'action="/backoffice/search/"' in html  # the header's member search box
    assert "<title>" in html and "Club Alpha · Backoffice" in html


def test_the_brands_logo_is_at_the_top_of_the_sidebar(brand, client_for):
    from tests.catalog.factories import png
    from themes.models import Theme

    theme = Theme.objects.get(id=1)
    theme.logo.save("logo.png", png(120, 40), save=True)
    try:
        html = _client(client_for, brand, staff_make("owner")).get("/backoffice/").content.decode()
        assert f'src="{theme.logo.url}"' in html
    finally:
        theme.logo.delete(save=True)


def test_the_colours_are_a_stylesheet_for_everyone(brand, client_for):
    answer = client_for(brand).get(reverse("backoffice:colors"))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/css")
    css = answer.content.decode()
    assert (
        "--color-primary-600:" in css and "--color-base-50:" in css and "--color-font-default-light:" in css
    )


@pytest.mark.parametrize(
    ("primary", "brands"),
    [("#5b1a3a", True), ("#1f4fa3", True), ("#ffd400", False)],  # yellow: white on it is unreadable
)
def test_the_primary_colours_are_the_brands_when_white_text_on_it_reads(brand, client_for, primary, brands):
    from themes.models import Theme

    Theme.objects.filter(id=1).update(primary_color=primary)
    html = _client(client_for, brand, staff_make("owner")).get("/backoffice/").content.decode()
    url = re.search(r'href="(/backoffice/colors\.css\?v=[0-9a-f]+)"', html).group(1)
    css = client_for(brand).get(url).content.decode()
    red, green, blue = (int(primary[i : i + 2], 16) for i in (1, 3, 5))
    assert (f"--color-primary-600: rgb({red}, {green}, {blue});" in css) is brands
    assert (f"--color-primary-50: color-mix(in oklab, {primary} 8%, white);" in css) is brands
    assert "--color-base-500:" in css


def test_the_language_switch_speaks_french_then_english(brand, client_for):
    client = _client(client_for, brand, staff_make("owner"))
    english = client.get("/backoffice/").content.decode()
    assert '<html lang="en"' in english and 'value="fr"' in english
    answer = client.post(reverse("set_language"), {"language": "fr", "next": "/backoffice/"})
    assert answer.status_code == 302 and answer["Location"] == "/backoffice/"
    french = client.get("/backoffice/").content.decode()
    assert '<html lang="fr"' in french
    client.post(reverse("set_language"), {"language": "en", "next": "/backoffice/"})
    assert '<html lang="en"' in client.get("/backoffice/").content.decode()


def test_the_search_box_is_for_staff_who_may_view_members(brand, client_for):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username="plain@staff.example", password=TEST_PASSWORD, is_staff=True
    )
    html = _client(client_for, brand, user).get("/backoffice/").content.decode()
    assert 'action="/backoffice/search/"' not in html


def test_the_login_page_has_unfolds_look(brand, client_for):
    html = client_for(brand).get("/backoffice/login/").content.decode()
    assert "/static/unfold/css/styles.css" in html and reverse("backoffice:colors") in html


def test_each_page_item_names_a_url_of_the_backoffice_or_the_admin():
    names = [item.url_name for _title, items in SIDEBAR for item in items if isinstance(item, Page)]
    assert all(name.split(":")[0] in {"backoffice", "admin", "community-bo"} for name in names)
