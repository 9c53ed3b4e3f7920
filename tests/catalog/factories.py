"""Makers of catalogue test data, through the real services (no mocks of our own code)."""

from __future__ import annotations

import io
import uuid

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from catalog.models import Category, Gift
from loyalty.models import LedgerEntry, Member
from loyalty.services.ledger import EntryCause, member_lock, points_credit
from loyalty.services.members import member_upsert
from tests.conftest import TEST_PASSWORD


def member_make(external_id: str | None = None, *, points: int = 0, login: bool = False, **data) -> Member:
    member, _ = member_upsert(external_id=external_id or f"m-{uuid.uuid4().hex[:10]}", data=data)
    if points:
        points_give(member, points)
    if login:
        user = get_user_model().objects.create_user(
            username=f"{member.external_id}@example.com", password=TEST_PASSWORD
        )
        Member.objects.filter(pk=member.pk).update(user=user)
    member.refresh_from_db()
    return member


def points_give(member: Member, points: int) -> None:
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        points_credit(
            member=locked, points=points, kind=LedgerEntry.Kind.EARN, cause=EntryCause(reason="test")
        )


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
