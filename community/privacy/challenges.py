"""The challenges part of a member's GDPR export and erasure: the challenges they completed. They
hold no personal text (the bonus is in the ledger, kept as every entry is), so erasing leaves them."""

from __future__ import annotations

from community.selectors.challenges import challenge_completions_of
from core.privacy import Person
from loyalty.models import Member


def export(member: Member) -> dict:
    return {
        "completed": list(
            challenge_completions_of(member=member).values(
                "challenge__name", "challenge__bonus_points", "completed_at"
            )
        )
    }


def erase(member: Member, person: Person) -> None:
    return None
