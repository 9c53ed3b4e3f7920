"""The theme API: read, replace, change, images; bad inputs answer 400 naming the field and write
nothing; the schema describes each operation."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from PIL import Image

from tests.conftest import host_of
from tests.support import error_of
from themes.models import Theme

EVERY = {
    "primary_color": "#003366",
    "accent_color": "#ffcc00",
    "background_color": "#ffffff",
    "text_color": "#111111",
    "font": "atkinson-hyperlegible",
    "corner_radius": 12,
    "programme_name": "Alpha Club",
    "texts": {"en": {"tagline": "Ride more", "faq": "**Yes**"}, "fr": {"tagline": "Roulez plus"}},
    "custom_css": ".hero{letter-spacing:.01em}",
}


def image(width=64, height=64, format="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 90, 200)).save(buffer, format=format)
    return buffer.getvalue()


def upload(api, kind: str, content: bytes, name: str = "x.png"):
    client = Client(HTTP_HOST=host_of(api.brand))
    return client.post(
        f"/api/v1/theme/{kind}",
        {"image": SimpleUploadedFile(name, content)},
        HTTP_AUTHORIZATION=f"Api-Key {api.key}",
    )


def test_read_replace_and_change(api_a):
    read = api_a.get("/api/v1/theme")
    assert read.status_code == 200 and read.json()["css_url"].startswith("/theme/")
    replaced = api_a.put("/api/v1/theme", EVERY)
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert body["font"] == "atkinson-hyperlegible" and body["programme_name"] == "Alpha Club"
    assert body["texts_html"]["en"]["faq"] == "<p><strong>Yes</strong></p>"
    assert body["texts"]["fr"]["tagline"] == "Roulez plus" and body["css_url"] != read.json()["css_url"]
    changed = api_a.send("patch", "/api/v1/theme", {"texts": {"fr": {"faq": "Oui"}}, "corner_radius": 0})
    assert changed.status_code == 200
    assert changed.json()["texts"]["fr"] == {**body["texts"]["fr"], "faq": "Oui"}
    assert changed.json()["texts"]["en"]["faq"] == "**Yes**" and changed.json()["corner_radius"] == 0


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        ({"text_color": "#aaaaaa"}, "text_color", "text on background: 2.3:1, needs 4.5:1"),
        ({"primary_color": "red"}, "primary_color", "#rrggbb"),
        ({"font": "papyrus"}, "font", "one of"),
        ({"corner_radius": "8"}, "corner_radius", "whole number"),
        ({"custom_css": "@import url(/media/a.css);"}, "custom_css", "@import"),
        ({"custom_css": "a{background:url(https://evil.example/a.png)}"}, "custom_css", "own media"),
        ({"custom_css": "a{width:expression(alert(1))}"}, "custom_css", "expression()"),
        ({"texts": {"en": {"faq": ["x"]}}}, "texts.en.faq", "a string"),
        ({"texts": {"es": {"faq": "x"}}}, "texts.es", "a language of the site"),
        ({"logo": "x"}, "logo", "not a field"),
    ],
)
def test_bad_inputs_are_400_naming_the_field_and_write_nothing(api_a, body, field, said):
    before = api_a.get("/api/v1/theme").json()
    error = error_of(api_a.send("patch", "/api/v1/theme", body), 400)
    assert error["field"] == field and said in error["message"], error
    assert api_a.get("/api/v1/theme").json() == before


def test_put_needs_every_field(api_a):
    error = error_of(api_a.put("/api/v1/theme", {k: v for k, v in EVERY.items() if k != "font"}), 400)
    assert (error["field"], error["code"]) == ("font", "required")
    assert error_of(api_a.put("/api/v1/theme", ["x"]), 400)["field"] == "body"


def test_images_uploaded_and_removed(api_a):
    answer = upload(api_a, "logo", image())
    assert answer.status_code == 200, answer.content
    logo_url = answer.json()["logo_url"]
    assert logo_url.startswith("/media/theme/logo-")
    assert Client(HTTP_HOST=host_of(api_a.brand)).get(logo_url).status_code == 200
    assert api_a.delete("/api/v1/theme/logo").json()["logo_url"] is None
    connection.set_tenant(api_a.brand)
    assert not Theme.objects.get().logo


@pytest.mark.parametrize(
    ("kind", "content", "status", "field", "said"),
    [
        ("logo", b"GIF89a not really", 400, "logo", "not an image"),
        ("hero", image(100, 100), 400, "hero", "each side is 200 to 6000 pixels"),
        ("favicon", image(32, 32, "GIF"), 400, "favicon", "not GIF"),
        ("favicon", b"0" * 300_000, 413, "image", "at most 256 KB"),
        ("banner", image(), 404, "kind", "one of logo, favicon, hero"),
    ],
)
def test_bad_uploads_are_refused_naming_the_field(api_a, kind, content, status, field, said):
    error = error_of(upload(api_a, kind, content), status)
    assert error["field"] == field and said in error["message"], error
    assert api_a.get("/api/v1/theme").json()["logo_url"] is None


def test_the_schema_describes_the_operations(api_a):
    schema = api_a.get("/api/v1/schema/?format=json").json()
    theme = schema["paths"]["/api/v1/theme"]
    assert {"get", "put", "patch"} <= set(theme)
    assert all(theme[m]["summary"] and theme[m]["description"] for m in ("get", "put", "patch"))
    assert "400" in theme["patch"]["responses"]
    image_ops = schema["paths"]["/api/v1/theme/{kind}"]
    assert {"413", "404", "400"} <= set(image_ops["post"]["responses"])
