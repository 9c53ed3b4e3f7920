"""The demo brands' themes pass the theme's own checks (contrast, texts) and differ from each other."""

from __future__ import annotations

import pytest
from django.db import connection

from themes.demo import THEMES, demo_theme_seed
from themes.selectors import theme_data


@pytest.mark.parametrize("slug", sorted(THEMES))
def test_each_demo_theme_is_accepted_in_both_languages(db, brand_a, slug):
    connection.set_tenant(brand_a)
    demo_theme_seed(slug=slug)
    theme = theme_data()
    assert theme.primary_color == THEMES[slug]["primary_color"]
    assert theme.texts["en"]["tagline"] and theme.texts["fr"]["tagline"]
    assert theme.texts["fr"]["how_to_earn"].startswith(("<p>", "<ul>"))


def test_the_demo_themes_differ():
    looks = {(theme["primary_color"], theme["font"]) for theme in THEMES.values()}
    assert len(looks) == len(THEMES)
