"""Reads of the brand's theme: `theme_get` (the row) and `theme_data` (the plain object the site,
and later e-mails and printed letters, read). Creates nothing: the row is made by the migrations
in the brand template (`themes/migrations/0002_theme_row.py`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from django.db.models import OuterRef, Subquery
from django.db.models.fields.files import FieldFile
from django.utils.html import escape

from loyalty.models import ProgrammeSettings
from tenants.selectors import schema_current
from themes.models import TEXT_KEYS, TEXT_LANGUAGES, Theme
from themes.styles import FONTS, css_hash, theme_css_compile
from themes.texts import markdown_html


@dataclass(frozen=True)
class ThemeImage:
    url: str  # on the brand's host: /media/theme/...
    path: str  # the file on disk (a letter renderer reads it), "" when none


@dataclass(frozen=True)
class ThemeData:
    """A brand's theme as plain data. `texts[language][key]` is sanitised HTML ("" when not
    written; `tagline` is escaped text); `text(language, key)` falls back to English."""

    primary_color: str
    accent_color: str
    background_color: str
    text_color: str
    font: str
    font_family: str
    corner_radius: int
    programme_name: str
    logo: ThemeImage | None
    favicon: ThemeImage | None
    hero: ThemeImage | None
    texts: Mapping[str, Mapping[str, str]]
    css: str = field(repr=False)
    css_hash: str

    @property
    def css_url(self) -> str:
        return f"/theme/{self.css_hash}.css"

    def text(self, language: str, key: str) -> str:
        return self.texts.get(language, {}).get(key) or self.texts["en"].get(key, "")

    def texts_in(self, language: str) -> dict[str, str]:
        return {key: self.text(language, key) for key in TEXT_KEYS}


def theme_get() -> Theme:
    """The active brand's theme row, with `programme_name` (the programme settings') annotated."""
    programme_name = ProgrammeSettings.objects.filter(id=OuterRef("id")).values("programme_name")
    return Theme.objects.annotate(programme_name=Subquery(programme_name[:1])).get(id=1)


def _image(stored: FieldFile) -> ThemeImage | None:
    if not stored:
        return None
    return ThemeImage(url=stored.url, path=stored.path)


def theme_texts_html(texts: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    rendered: dict[str, dict[str, str]] = {}
    for language in TEXT_LANGUAGES:
        given = texts.get(language) or {}
        rendered[language] = {
            key: (escape(given.get(key, "")) if key == "tagline" else markdown_html(given.get(key, "")))
            for key in TEXT_KEYS
        }
    return rendered


def theme_data_of(row: Theme, *, programme_name: str) -> ThemeData:
    """The plain object of a theme row, saved or not (the backoffice's preview shows unsaved ones)."""
    hero = _image(row.hero)
    css = theme_css_compile(
        primary_color=row.primary_color,
        accent_color=row.accent_color,
        background_color=row.background_color,
        text_color=row.text_color,
        font=row.font,
        corner_radius=row.corner_radius,
        hero_url=hero.url if hero else "",
        custom_css=row.custom_css,
    )
    texts = theme_texts_html(row.texts or {})
    return ThemeData(
        primary_color=row.primary_color,
        accent_color=row.accent_color,
        background_color=row.background_color,
        text_color=row.text_color,
        font=row.font,
        font_family=FONTS.get(row.font, FONTS["system-sans"]).family,
        corner_radius=row.corner_radius,
        programme_name=programme_name,
        logo=_image(row.logo),
        favicon=_image(row.favicon),
        hero=hero,
        texts=MappingProxyType({language: MappingProxyType(by_key) for language, by_key in texts.items()}),
        css=css,
        css_hash=css_hash(css),
    )


# ThemeData built per process, by what it is built from: compiling the CSS and rendering the
# Markdown texts cost about 4 ms, paid once per theme instead of once per page or e-mail.
_BUILT: dict[tuple, ThemeData] = {}
BUILT_KEPT = 512


def _built_key(row: Theme, programme_name: str) -> tuple:
    images = (row.logo.name, row.favicon.name, row.hero.name)
    colours = (row.primary_color, row.accent_color, row.background_color, row.text_color)
    texts = json.dumps(row.texts or {}, sort_keys=True)
    return (
        schema_current(),
        programme_name,
        *colours,
        row.font,
        row.corner_radius,
        *images,
        texts,
        row.custom_css,
    )


def theme_data() -> ThemeData:
    """The active brand's theme, one query (its plain object is built once per process and theme)."""
    row = theme_get()
    programme_name = row.programme_name or ""  # type: ignore[attr-defined]
    key = _built_key(row, programme_name)
    data = _BUILT.get(key)
    if data is None:
        if len(_BUILT) >= BUILT_KEPT:
            _BUILT.clear()
        data = _BUILT[key] = theme_data_of(row, programme_name=programme_name)
    return data
