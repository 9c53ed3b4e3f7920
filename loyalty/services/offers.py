"""Personalised offers: created and changed (backoffice, API), deleted, marked seen by a member."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput
from loyalty.models import Member, Offer, OfferSeen

# What `offer_save` sets (the image is uploaded in the backoffice).
OFFER_FIELDS = ("segment", "title", "text", "link", "starts_at", "ends_at")


# The years an offer's dates may fall in.
OFFER_YEARS = (2000, 2100)


def offer_validate(*, offer: Offer) -> None:
    """The offer's fields, as the model and the database constraints check them: InvalidInput per field."""
    errors: dict[str, list[str]] = {}
    try:
        offer.full_clean(exclude=["image"], validate_constraints=False)  # checked below, by field
    except ValidationError as error:
        errors.update(error.message_dict)
    if offer.link and not offer.link.lower().startswith(("https://", "http://")):
        errors.setdefault("link", []).append("must be an http:// or https:// address")
    for field in ("starts_at", "ends_at"):
        value = getattr(offer, field)
        # An offer of year 375 is a typo; its local time there has no whole-minute UTC offset either.
        if value and not OFFER_YEARS[0] <= value.year <= OFFER_YEARS[1]:
            errors.setdefault(field, []).append(f"must be between {OFFER_YEARS[0]} and {OFFER_YEARS[1]}")
    if offer.starts_at and offer.ends_at and offer.ends_at <= offer.starts_at:
        errors.setdefault("ends_at", []).append("must be after starts_at")
    if errors:
        raise InvalidInput(errors)


def offer_save(*, data: dict[str, Any], offer: Offer | None = None) -> Offer:
    """Create the offer, or set the fields of `data` on it; validated first, nothing written if not."""
    unknown = set(data) - set(OFFER_FIELDS)
    if unknown:
        raise InvalidInput({field: ["is not an offer field"] for field in sorted(unknown)})
    offer = offer or Offer()
    for field, value in data.items():
        setattr(offer, field, "" if value is None and field not in ("segment",) else value)
    offer_validate(offer=offer)
    with transaction.atomic():
        offer.save()
    return offer


def offer_delete(*, offer: Offer) -> None:
    with transaction.atomic():
        offer.delete()


def offer_seen_mark(*, offer: Offer, member: Member, at: datetime | None = None) -> bool:
    """Record that the member was shown the offer; False when they had been already (a concurrent
    page view included: the unique constraint decides)."""
    with transaction.atomic():
        _, created = OfferSeen.objects.get_or_create(
            offer=offer, member=member, defaults={"seen_at": at or timezone.now()}
        )
    return created
