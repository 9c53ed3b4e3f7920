"""The demo brands' community (`tenants.demo`): each part seeds its own, idempotently."""

from __future__ import annotations

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

PARTS = (
    moderation,
    reviews,
    contributions,
    qa,
    live,
    discussions,
    challenges,
    draws,
    auctions,
    club_services,
)


def demo_community_seed(*, slug: str) -> None:
    """In the current schema (the demo brand `slug`)."""
    for part in PARTS:
        part.seed(slug=slug)
