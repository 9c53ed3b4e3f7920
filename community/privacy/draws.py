"""The draws part of a member's GDPR export and erasure: the member's tickets and wins. Draws hold no
text the member wrote, so erasing leaves the rows (they are the draws' public proof, under a code
that names nobody); an anonymised member is no longer active, so the draws still to come leave them
out (`community.selectors.draws.draw_tickets_by_member`)."""

from __future__ import annotations

from core.privacy import Person
from loyalty.models import Member

from ..models import DrawEntry, DrawWinner


def export(member: Member) -> dict:
    return {
        "draw_entries": list(
            DrawEntry.objects.filter(member=member)
            .order_by("created_at", "pk")
            .values("draw__name", "tickets", "entry__points", "created_at")
        ),
        "draws_won": list(
            DrawWinner.objects.filter(member=member)
            .order_by("draw__drawn_at", "pk")
            .values("draw__name", "draw__prize", "rank", "draw__drawn_at", "notified_at")
        ),
    }


def erase(member: Member, person: Person) -> None:
    return None
