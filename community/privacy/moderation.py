"""The moderation part of a member's GDPR export and erasure."""

from __future__ import annotations

from core.privacy import Person
from loyalty.models import Member


def export(member: Member) -> dict:
    return {}


def erase(member: Member, person: Person) -> None:
    return None
