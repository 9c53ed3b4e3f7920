"""Members: creation and update (from the API, the backoffice, imports), consents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.models import Consent, Member
from loyalty.services.ledger import programme_settings

# Contact details of a member, as the API and the backoffice show and edit them.
MEMBER_CONTACT_FIELDS = (
    "first_name", "last_name", "company_name", "siret", "email", "phone", "address_line1",
    "address_line2", "postal_code", "city", "country", "language",
)  # fmt: skip
# What `member_upsert` accepts.
MEMBER_FIELDS = ("kind", *MEMBER_CONTACT_FIELDS, "tags", "is_vip")


class MemberInputError(ValueError):
    """Bad member data; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))
        self.errors = errors


def member_upsert(
    *, external_id: str, data: dict[str, Any], consents: dict[str, bool] | None = None, source: str = "api"
) -> tuple[Member, bool]:
    """Create the member with this external id, or update the fields given. Returns (member, created)."""
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 64:
        raise MemberInputError({"external_id": ["is required, at most 64 characters"]})
    unknown = set(data) - set(MEMBER_FIELDS)
    if unknown:
        raise MemberInputError({field: ["is not a member field"] for field in sorted(unknown)})
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(external_id=external_id).first()
        created = member is None
        if created:
            member = Member(
                external_id=external_id,
                joined_at=timezone.now(),
                overdraft_limit=programme_settings().overdraft_limit,
            )
        for field, value in data.items():
            setattr(member, field, value if value is not None else "")
        if member.kind == Member.Kind.RESELLER and not member.company_name:
            raise MemberInputError({"company_name": ["is required for a B2B reseller"]})
        try:
            member.full_clean(exclude=["user", "sales_rep", "tier", "tier_floor"], validate_unique=False)
        except ValidationError as error:
            raise MemberInputError(error.message_dict) from None
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            # Created concurrently by another request with the same external id: update that one.
            if not created:
                raise
            return member_upsert(external_id=external_id, data=data, consents=consents, source=source)
        if consents:
            consent_set(member=member, consents=consents, source=source)
    return member, created


def consent_set(
    *, member: Member, consents: dict[str, bool], source: str, at: datetime | None = None
) -> None:
    """Record the member's consent per channel, with when and how it was given."""
    valid = set(Consent.Channel.values)
    bad = [channel for channel in consents if channel not in valid]
    if bad:
        raise MemberInputError({"consents": [f"unknown channel '{bad[0]}' (use {', '.join(sorted(valid))})"]})
    at = at or timezone.now()
    for channel, granted in consents.items():
        current = Consent.objects.filter(member=member, channel=channel).first()
        if current is None or current.granted != bool(granted):
            Consent.objects.update_or_create(
                member=member,
                channel=channel,
                defaults={"granted": bool(granted), "changed_at": at, "source": source},
            )
