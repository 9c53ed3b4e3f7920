"""Clubs' part of GDPR exports and erasures (`core.privacy`): the spaces the member entered and the
codes they typed. Erasing forgets where the codes were typed from; the grants stay."""

from __future__ import annotations

from core.privacy import Person, privacy_register
from loyalty.models import Member

from .models import SpaceCodeAttempt, SpaceGrant


def _export(member: Member) -> dict:
    return {
        "space_grants": list(
            SpaceGrant.objects.filter(member=member)
            .order_by("granted_at")
            .values("space__name", "granted_at")
        ),
        "code_attempts": list(
            SpaceCodeAttempt.objects.filter(member=member)
            .order_by("at")
            .values("space__name", "at", "outcome", "ip")
        ),
    }


def _erase(member: Member, person: Person) -> None:
    SpaceCodeAttempt.objects.filter(member=member).update(ip=None)


privacy_register(app="clubs", export=_export, erase=_erase)
