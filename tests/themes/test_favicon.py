"""The site's favicon (themes/plain.html, themes.views.favicon): the theme's own, or the bundled
default when the theme has none, both linked from every page and behind /favicon.ico."""

from __future__ import annotations

import io

from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from themes.selectors import theme_data
from themes.services import theme_image_set


def test_without_a_theme_favicon_the_default_is_linked_and_served(in_a, client_for):
    client = client_for(in_a)
    html = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/themes/favicon.svg">' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/themes/favicon.svg"
    assert finders.find("themes/favicon.svg")


def test_the_theme_favicon_is_linked_and_served(in_a, client_for):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "#123456").save(buffer, format="PNG")
    theme_image_set(kind="favicon", image=SimpleUploadedFile("icon.png", buffer.getvalue()))
    url = theme_data().favicon.url
    client = client_for(in_a)
    assert f'<link rel="icon" href="{url}">' in client.get("/accounts/login/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == url
    assert client.get(url).status_code == 200
