"""The brand's theme: contrast refused with its ratio, custom CSS sanitised (each bad construct
refused naming the field), Markdown texts sanitised, the compiled CSS served with a far-future
header under a hash that changes with the theme, the site's layout dressed by it."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from core.errors import InvalidInput
from themes.models import Theme
from themes.selectors import theme_data
from themes.services import theme_image_set, theme_update
from themes.styles import contrast_ratio


@pytest.fixture
def in_brand(db, brand_a):
    connection.set_tenant(brand_a)
    return brand_a


def refusal(data: dict) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as raised:
        theme_update(data=data)
    return raised.value.errors


def png(width: int = 64, height: int = 64, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format=format)
    return buffer.getvalue()


def test_contrast_ratio_is_wcag():
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast_ratio("#777777", "#ffffff"), 2) == 4.48


def test_a_pair_under_aa_is_refused_with_its_ratio_and_pair(in_brand):
    errors = refusal({"text_color": "#999999", "background_color": "#ffffff"})
    assert errors["text_color"][0].startswith("text on background: 2.8:1, needs 4.5:1")
    errors = refusal({"primary_color": "#ffdd00"})
    assert "button text (background colour) on primary: 1.3:1, needs 4.5:1" in errors["background_color"][0]
    assert Theme.objects.get().text_color == "#1d2330"  # nothing written


def test_bad_values_are_refused_naming_their_field(in_brand):
    errors = refusal(
        {"primary_color": "blue", "font": "comic", "corner_radius": 99, "programme_name": " ", "colour": 1}
    )
    assert set(errors) == {"primary_color", "font", "corner_radius", "programme_name", "colour"}
    errors = refusal({"texts": {"de": {}, "en": {"faq": 3, "nope": "x", "tagline": "x" * 200}}})
    assert set(errors) == {"texts.de", "texts.en.faq", "texts.en.nope", "texts.en.tagline"}


@pytest.mark.parametrize(
    ("css", "said"),
    [
        ('@import url("/media/x.css"); a{color:red}', "@import"),
        ("@import 'https://evil.example/x.css';", "@import"),
        ("body{background:url(https://evil.example/x.png)}", "url(https://evil.example/x.png)"),
        ('body{background:url("//evil.example/x.png")}', "url(//evil.example/x.png)"),
        ('body{background:url("/media/%2e%2e/brand_other/x.png")}', "url(/media/%2e%2e/brand_other/x.png)"),
        ("body{width:expression(alert(1))}", "expression()"),
        ("body{behavior:url(/media/x.htc)}", "behavior"),
        ("body{-moz-binding:url(/media/x.xml#a)}", "-moz-binding"),
        ("a{background:url(javascript:alert(1))}", "javascript:"),
        ("a{color:red}</style><script>alert(1)</script>", "</style>"),
        ("a{background:u\\72l(https://evil.example/)}", "backslash"),
        ("a{color:red;" + "x" * 21_000 + "}", "at most 20 KB"),
    ],
)
def test_each_bad_custom_css_is_refused_naming_the_field(in_brand, css, said):
    errors = refusal({"custom_css": css})
    assert list(errors) == ["custom_css"]
    assert any(said in message for message in errors["custom_css"]), errors


def test_custom_css_of_the_brands_own_media_is_kept(in_brand):
    css = '.hero{background-image:url("/media/theme/hero.jpg")} @media (min-width:40rem){h1{color:#123456}}'
    theme_update(data={"custom_css": css})
    assert css in theme_data().css


def test_markdown_texts_are_sanitised(in_brand):
    theme_update(
        data={
            "texts": {
                "en": {
                    "rules": "<script>alert(1)</script> <img src=x onerror=alert(1)> "
                    "[click](javascript:alert(1)) [site](https://example.com) **bold**",
                    "tagline": "<b>Best</b> club",
                },
                "fr": {"faq": "[écrire](mailto:club@example.com)"},
            }
        }
    )
    theme = theme_data()
    rules = theme.text("en", "rules")
    assert "<script" not in rules and "onerror" not in rules.replace("onerror=alert(1)&gt;", "")
    assert "<img" not in rules and 'href="javascript' not in rules
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer">site</a>' in rules
    assert "<strong>bold</strong>" in rules
    assert theme.text("en", "tagline") == "&lt;b&gt;Best&lt;/b&gt; club"
    assert 'href="mailto:club@example.com"' in theme.text("fr", "faq")
    assert theme.text("fr", "rules") == rules  # French falls back to English


def test_css_is_served_with_a_far_future_header_and_a_new_hash_per_theme(in_brand, client_for):
    client = client_for(in_brand)
    first = theme_data()
    response = client.get(first.css_url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert "--theme-primary:#1f4fa3" in response.content.decode()
    theme_update(data={"primary_color": "#7a1f3d", "font": "lora"})
    second = theme_data()
    assert second.css_hash != first.css_hash
    body = client.get(second.css_url).content.decode()
    assert "--theme-primary:#7a1f3d" in body and "lora-latin-400-normal.woff2" in body
    assert client.get(first.css_url).status_code == 404  # the old hash is not this theme
    assert client.get("/theme/0123456789abcdef.css").status_code == 404


def test_the_layout_links_the_css_and_shows_the_brand(in_brand, client_for):
    theme_update(data={"programme_name": "Alpha <Miles>", "texts": {"en": {"legal": "Alpha SAS"}}})
    html = client_for(in_brand).get("/accounts/login/").content.decode()
    assert f'href="{theme_data().css_url}"' in html
    assert "Alpha &lt;Miles&gt;" in html and "Skip to content" in html
    assert 'href="/page/legal/"' in html and 'href="/page/faq/"' not in html
    assert re.search(r'<main id="main"', html)
    page = client_for(in_brand).get("/page/legal/")
    assert page.status_code == 200 and "<p>Alpha SAS</p>" in page.content.decode()
    assert client_for(in_brand).get("/page/faq/").status_code == 404


def test_images_are_checked_and_stored_in_the_brands_folder(in_brand, client_for):
    theme = theme_image_set(kind="logo", image=SimpleUploadedFile("logo.png", png()))
    assert re.fullmatch(r"theme/logo-[0-9a-f]{16}\.png", theme.logo.name)
    assert f"/{in_brand.schema_name}/theme/" in theme.logo.path
    assert client_for(in_brand).get(theme.logo.url).status_code == 200
    hero = theme_image_set(kind="hero", image=SimpleUploadedFile("h.jpg", png(400, 200, "JPEG"))).hero
    assert f'url("{hero.url}")' in theme_data().css
    for kind, upload, said in [
        ("logo", SimpleUploadedFile("x.png", b"<svg onload=alert(1)>"), "not an image"),
        ("favicon", SimpleUploadedFile("f.png", png(1024, 1024)), "each side is 16 to 512 pixels"),
        ("hero", SimpleUploadedFile("h.gif", png(400, 400, "GIF")), "not GIF"),
        ("favicon", SimpleUploadedFile("f.png", b"0" * 300_000), "at most 256 KB"),
    ]:
        with pytest.raises(InvalidInput) as raised:
            theme_image_set(kind=kind, image=upload)
        assert raised.value.field == kind and said in raised.value.message
