"""Writes of the brand's theme, every check in one place (the backoffice form and the API call
these): `theme_validate` (the row with the changes, checked, not saved), `theme_update`,
`theme_image_set` (logo, favicon, hero: images checked by Pillow, stored in the brand's media
folder under `theme/`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from core.audit import audit_record, audit_saved, audit_snapshot
from core.errors import InvalidInput
from core.models import AuditEntry
from loyalty.services.programme import programme_settings_update
from themes.models import TEXT_KEYS, TEXT_LANGUAGES, Theme
from themes.selectors import theme_get
from themes.styles import FONTS, contrast_errors, custom_css_problems

COLOR_FIELDS = ("primary_color", "accent_color", "background_color", "text_color")
EDITABLE_FIELDS = (*COLOR_FIELDS, "font", "corner_radius", "programme_name", "texts", "custom_css")
RADIUS_MAX = 32
PROGRAMME_NAME_MAX = 120
TAGLINE_MAX = 160
TEXT_MAX = 20_000
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class ImageRule:
    max_bytes: int
    min_side: int
    max_side: int


IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}  # no SVG: it can carry script
IMAGE_RULES = {
    "logo": ImageRule(max_bytes=1024 * 1024, min_side=16, max_side=2_000),
    "favicon": ImageRule(max_bytes=256 * 1024, min_side=16, max_side=512),
    "hero": ImageRule(max_bytes=5 * 1024 * 1024, min_side=200, max_side=6_000),
}


def _color(value: Any) -> str | None:
    if not isinstance(value, str) or not _HEX.match(value.strip()):
        return None
    value = value.strip().lower()
    return "#" + "".join(c * 2 for c in value[1:]) if len(value) == 4 else value


def _texts(value: Any, current: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """The texts given, merged into the current ones language by language."""
    merged = {language: dict(current.get(language) or {}) for language in TEXT_LANGUAGES}
    if not isinstance(value, Mapping):
        errors["texts"] = [_('an object by language: {"en": {"how_to_earn": "..."}, "fr": {...}}')]
        return merged
    for language, by_key in value.items():
        if language not in TEXT_LANGUAGES:
            errors[f"texts.{language}"] = [
                _("a language of the site: %(languages)s") % {"languages": ", ".join(TEXT_LANGUAGES)}
            ]
            continue
        if not isinstance(by_key, Mapping):
            errors[f"texts.{language}"] = [_("an object of texts: %(keys)s") % {"keys": ", ".join(TEXT_KEYS)}]
            continue
        for key, text in by_key.items():
            name = f"texts.{language}.{key}"
            limit = TAGLINE_MAX if key == "tagline" else TEXT_MAX
            if key not in TEXT_KEYS:
                errors[name] = [_("not a text of the theme: %(keys)s") % {"keys": ", ".join(TEXT_KEYS)}]
            elif not isinstance(text, str):
                errors[name] = [_("a string (Markdown)")]
            elif "\x00" in text:
                errors[name] = [_("contains a NUL character")]
            elif len(text) > limit:
                errors[name] = [_("at most %(max)s characters") % {"max": limit}]
            else:
                merged[language][key] = text.strip() if key == "tagline" else text
    return merged


def theme_validate(*, data: Mapping[str, Any]) -> tuple[Theme, str | None]:
    """The theme row with `data` applied and checked, not saved, and the programme name given (or
    None). Every refusal names its field: colours (and the pairs under WCAG AA contrast, with their
    ratio), font, corner radius, programme name, texts (`texts.fr.faq`), custom CSS."""
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    errors: dict[str, list[str]] = {name: [_("is not a field of the theme")] for name in unknown}
    row = theme_get()
    for name in COLOR_FIELDS:
        if name in data:
            color = _color(data[name])
            if color is None:
                errors[name] = [_("a colour as #rrggbb (or #rgb)")]
            else:
                setattr(row, name, color)
    if "font" in data:
        if data["font"] not in FONTS:
            errors["font"] = [_("one of %(fonts)s") % {"fonts": ", ".join(FONTS)}]
        else:
            row.font = data["font"]
    if "corner_radius" in data:
        radius = data["corner_radius"]
        if not isinstance(radius, int) or isinstance(radius, bool) or not 0 <= radius <= RADIUS_MAX:
            errors["corner_radius"] = [_("a whole number of pixels from 0 to %(max)s") % {"max": RADIUS_MAX}]
        else:
            row.corner_radius = radius
    programme_name = None
    if "programme_name" in data:
        name = data["programme_name"]
        if not isinstance(name, str) or not name.strip() or "\x00" in name:
            errors["programme_name"] = [_("a name, not empty")]
        elif len(name.strip()) > PROGRAMME_NAME_MAX:
            errors["programme_name"] = [_("at most %(max)s characters") % {"max": PROGRAMME_NAME_MAX}]
        else:
            programme_name = name.strip()
    if "texts" in data:
        row.texts = _texts(data["texts"], row.texts or {}, errors)
    if "custom_css" in data:
        css = data["custom_css"]
        if not isinstance(css, str):
            errors["custom_css"] = [_("a string of CSS")]
        else:
            problems = custom_css_problems(css)
            if problems:
                errors["custom_css"] = problems
            else:
                row.custom_css = css
    if not any(name in errors for name in COLOR_FIELDS):
        for name, messages in contrast_errors({name: getattr(row, name) for name in COLOR_FIELDS}).items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise InvalidInput(errors)
    return row, programme_name


def theme_update(*, data: Mapping[str, Any]) -> Theme:
    """Save the theme's changes (the fields given); the programme name goes to the programme settings,
    where the rest of the programme reads it. The compiled CSS gets a new hash of its own."""
    with transaction.atomic():
        before = audit_snapshot(Theme.objects.select_for_update().get(id=1))
        row, programme_name = theme_validate(data=data)
        row.save()
        audit_saved(obj=row, before=before)
        if programme_name is not None:
            programme_settings_update(data={"programme_name": programme_name})
    return theme_get()


def theme_image_check(*, kind: str, image: File) -> str:
    """The one check of a theme image: JPEG, PNG or WebP as Pillow reads it, within the kind's size
    caps (IMAGE_RULES). Returns the name to store it under: the kind and a digest of its content
    (never a name another brand's file could share), and the extension of what it really is."""
    rule = IMAGE_RULES[kind]
    if image.size is not None and image.size > rule.max_bytes:
        raise InvalidInput(
            _("at most %(max)s KB") % {"max": rule.max_bytes // 1024}, field=kind, code="too_large"
        )
    try:
        image.seek(0)
        with Image.open(image) as opened:
            found, (width, height) = opened.format, opened.size
            opened.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(_("not an image (JPEG, PNG or WebP)"), field=kind) from None
    if found not in IMAGE_FORMATS:
        raise InvalidInput(_("a JPEG, PNG or WebP image, not %(format)s") % {"format": found}, field=kind)
    if not (rule.min_side <= width <= rule.max_side and rule.min_side <= height <= rule.max_side):
        raise InvalidInput(
            _("%(width)sx%(height)s pixels: each side is %(min)s to %(max)s pixels")
            % {"width": width, "height": height, "min": rule.min_side, "max": rule.max_side},
            field=kind,
        )
    image.seek(0)
    digest = hashlib.sha256(image.read()).hexdigest()[:16]
    image.seek(0)
    return f"{kind}-{digest}.{IMAGE_FORMATS[found]}"


def theme_image_set(*, kind: str, image: File | None) -> Theme:
    """Set (or with None, remove) the theme's logo, favicon or hero; the file replaced is deleted
    once the change is committed."""
    if kind not in IMAGE_RULES:
        raise InvalidInput(_("one of %(kinds)s") % {"kinds": ", ".join(IMAGE_RULES)}, field="kind")
    name = theme_image_check(kind=kind, image=image) if image is not None else None
    with transaction.atomic():
        row = Theme.objects.select_for_update().get(id=1)
        stored = getattr(row, kind)
        previous = stored.name if stored else ""
        if name is None:
            setattr(row, kind, "")
            row.save()
        elif previous != f"theme/{name}":
            target = f"theme/{name}"
            if stored.storage.exists(target):  # named by its content: that file is this image
                setattr(row, kind, target)
                row.save()
            else:
                stored.save(name, ContentFile(image.read()), save=False)  # type: ignore[union-attr]
                try:
                    row.save()
                except BaseException:
                    stored.storage.delete(stored.name)
                    raise
        current = getattr(row, kind).name or ""
        if previous != current:
            audit_record(
                action=AuditEntry.Action.CHANGE, obj=row, before={kind: previous}, after={kind: current}
            )
        if previous and previous != current:
            storage = stored.storage
            transaction.on_commit(lambda: storage.delete(previous))
    return theme_get()
