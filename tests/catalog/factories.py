"""Makers of catalogue test data, through the real services (no mocks of our own code), and the
API's uploads (multipart, CSV); members and points come from `tests.factories`."""

from __future__ import annotations

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from catalog.models import Category, Gift
from tests.conftest import host_of


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
        from catalog.services import VoucherCodeInput, voucher_codes_add

        voucher_codes_add(
            gift_id=gift.pk,
            codes=[VoucherCodeInput(where=f"codes[{i}]", code=c) for i, c in enumerate(codes)],
        )
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


def image_file(
    width: int, height: int, *, format: str = "PNG", name: str | None = None
) -> SimpleUploadedFile:
    """An uploaded image of that size and format (PNG, JPEG, WEBP, GIF...)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, format=format)
    extension = {"JPEG": "jpg"}.get(format, format.lower())
    return SimpleUploadedFile(name or f"photo.{extension}", buffer.getvalue())


def api_upload(api, path: str, *, data, content_type: str | None = None, method: str = "post"):
    """A request of the API client `api` with a body that is not JSON: a multipart form (`data` a
    dict, files included) or raw bytes of `content_type` (a CSV)."""
    client = Client(HTTP_HOST=host_of(api.brand))
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {api.key}"}
    if content_type is None:
        return getattr(client, method)(path, data=data, **headers)
    return getattr(client, method)(path, data=data, content_type=content_type, **headers)
