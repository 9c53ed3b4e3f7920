"""The backoffice's theme page: one page, saved through the service (its refusals on the fields they
name), and a preview of unsaved values that changes nothing."""

from __future__ import annotations

import pytest

from themes.models import Theme
from themes.selectors import theme_data

FORM = {
    "programme_name": "Alpha Miles",
    "primary_color": "#0b5394",
    "accent_color": "#ffe599",
    "background_color": "#ffffff",
    "text_color": "#1d2330",
    "font": "inter",
    "corner_radius": "8",
    "custom_css": "",
    "text_en_tagline": "Ride and earn",
    "text_en_how_to_earn": "Ride **in the evening**",
    "text_fr_tagline": "Roulez, gagnez",
}
CHANGE = "/backoffice/themes/theme/1/change/"


@pytest.fixture
def staff(staff_a):
    return staff_a


def test_the_list_is_the_theme_page_and_saving_goes_through_the_service(staff):
    assert staff.get("/backoffice/themes/theme/")["Location"].endswith(CHANGE)
    page = staff.get(CHANGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="text_fr_faq"' in html and "themes/admin-preview.js" in html
    assert 'name="theme-preview"' in html
    saved = staff.post(CHANGE, FORM)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    theme = theme_data()
    assert (theme.programme_name, theme.font, theme.primary_color) == ("Alpha Miles", "inter", "#0b5394")
    assert theme.text("fr", "tagline") == "Roulez, gagnez"


def test_refusals_land_on_their_fields(staff):
    page = staff.post(CHANGE, {**FORM, "text_color": "#eeeeee", "custom_css": "@import 'x.css';"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "text on background: 1.1:1, needs 4.5:1" in html and "@import is not allowed" in html
    assert Theme.objects.get().text_color == "#1d2330"


def test_preview_shows_unsaved_values_and_saves_nothing(staff):
    before = theme_data().css_hash
    preview = staff.post(CHANGE.replace("change/", "preview/"), {**FORM, "primary_color": "#7a1f3d"})
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "--theme-primary:#7a1f3d" in html and "Alpha Miles" in html
    assert "Ride <strong>in the evening</strong>" in html
    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert theme_data().css_hash == before and Theme.objects.get().primary_color == "#1f4fa3"
    refused = staff.post(CHANGE.replace("change/", "preview/"), {**FORM, "text_color": "#ffffff"})
    assert "text on background" in refused.content.decode()
