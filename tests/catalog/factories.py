"""Makers of catalogue test data, through the real services (no mocks of our own code); members
and points come from `tests.factories`."""

from __future__ import annotations

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import Category, Gift


def category_make(slug: str = "general", **fields) -> Category:
    category, _ = Category.objects.get_or_create(slug=slug, defaults={"name": slug.title(), **fields})
    return category


def gift_make(**fields) -> Gift:
    defaults = {
        "reference": f"G-{uuid.uuid4().hex[:8]}",
        "name": "Gift",
        "points_price": 100,
        "kind": Gift.Kind.VOUCHER if "codes" in fields else Gift.Kind.PHYSICAL,
    }
    codes = fields.pop("codes", None)
    tiers = fields.pop("tiers", None)
    gift = Gift.objects.create(**{**defaults, **fields})
    if tiers:
        gift.tiers.set(tiers)
    if codes:
        from catalog.services import voucher_codes_add

        voucher_codes_add(gift=gift, codes=codes)
    return gift


ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 rue de la Paix",
    "postal_code": "75002",
    "city": "Paris",
    "country": "FR",
}


def png(width: int, height: int) -> SimpleUploadedFile:
    """An uploaded PNG photo of that size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile("kettle.png", buffer.getvalue(), content_type="image/png")
