"""The auctions part of a member's GDPR export and erasure: the member's bids. Bids hold no
personal text, so erasing leaves them (the ledger keeps their entries, as it keeps every entry)."""

from __future__ import annotations

from core.privacy import Person
from loyalty.models import Member

from ..selectors.auctions import member_bids


def export(member: Member) -> dict:
    return {
        "bids": list(
            member_bids(member=member).values(
                "auction__title", "points", "state", "placed_at", "auction__closes_at"
            )
        )
    }


def erase(member: Member, person: Person) -> None:
    return None
