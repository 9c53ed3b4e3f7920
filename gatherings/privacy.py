"""Gatherings' part of GDPR exports (`core.privacy`): the member's answers to events. They hold no
personal text; erasing frees the seats of events not begun yet, as an anonymisation does."""

from __future__ import annotations

from core.privacy import Person, privacy_register
from loyalty.models import Member

from .models import Rsvp
from .services import member_rsvps_cancel


def _export(member: Member) -> dict:
    return {
        "rsvps": list(
            Rsvp.objects.filter(member=member)
            .order_by("created_at", "pk")
            .values(
                "gathering__title",
                "gathering__starts_at",
                "state",
                "created_at",
                "cancelled_at",
                "checked_in_at",
            )
        )
    }


def _erase(member: Member, person: Person) -> None:
    member_rsvps_cancel(member_id=member.pk)


privacy_register(app="gatherings", export=_export, erase=_erase)
