"""Tenant isolation of themes: brand A's stylesheet (by its hash) and its theme images are never
served on brand B's host, and B's API key reads and writes B's theme only."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from PIL import Image

from tests.conftest import host_of
from themes.models import Theme
from themes.selectors import theme_data
from themes.services import theme_image_set, theme_update


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (120, 20, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_css_and_media_are_not_served_on_b_host(db, brand_a, brand_b):
    connection.set_tenant(brand_a)
    theme_update(data={"primary_color": "#5a1e78", "custom_css": ".a-only{color:#5a1e78}"})
    hero = theme_image_set(kind="hero", image=SimpleUploadedFile("hero.png", png())).hero
    a_theme = theme_data()
    connection.set_tenant(brand_b)
    b_theme = theme_data()
    assert a_theme.css_hash != b_theme.css_hash

    on_a, on_b = Client(HTTP_HOST=host_of(brand_a)), Client(HTTP_HOST=host_of(brand_b))
    assert on_a.get(a_theme.css_url).status_code == 200
    assert on_a.get(hero.url).status_code == 200
    assert on_b.get(a_theme.css_url).status_code == 404
    assert on_b.get(hero.url).status_code == 404
    assert on_b.get(f"/media/../{brand_a.schema_name}/{hero.name}").status_code == 404
    b_page = on_b.get("/accounts/login/").content.decode()
    assert b_theme.css_url in b_page and a_theme.css_url not in b_page and "a-only" not in b_page
    assert "a-only" not in on_b.get(b_theme.css_url).content.decode()


def test_b_key_reads_and_writes_b_theme_only(api_a, api_b):
    api_a.send("patch", "/api/v1/theme", {"programme_name": "A Club", "accent_color": "#ffd000"})
    b_read = api_b.get("/api/v1/theme").json()
    assert b_read["programme_name"] != "A Club" and b_read["accent_color"] != "#ffd000"

    assert api_b.send("patch", "/api/v1/theme", {"programme_name": "B Club"}).status_code == 200
    assert api_a.get("/api/v1/theme").json()["programme_name"] == "A Club"
    connection.set_tenant(api_a.brand)
    assert Theme.objects.get().accent_color == "#ffd000"
    assert api_b.get("/api/v1/theme").json()["programme_name"] == "B Club"
