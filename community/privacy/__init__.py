"""The community's part of GDPR exports and erasures (`core.privacy`): each part's module exports
the member's texts and erases them (its `export` and `erase`), run here in the parts' order."""

from __future__ import annotations

from core.privacy import Person, privacy_register
from loyalty.models import Member

from . import (
    auctions,
    challenges,
    club_services,
    contributions,
    discussions,
    draws,
    live,
    moderation,
    qa,
    reviews,
)

PARTS = {
    "moderation": moderation,
    "reviews": reviews,
    "contributions": contributions,
    "qa": qa,
    "live": live,
    "discussions": discussions,
    "challenges": challenges,
    "draws": draws,
    "auctions": auctions,
    "club_services": club_services,
}


def _export(member: Member) -> dict:
    return {name: part.export(member) for name, part in PARTS.items()}


def _erase(member: Member, person: Person) -> None:
    for part in PARTS.values():
        part.erase(member, person)


privacy_register(app="community", export=_export, erase=_erase)
