"""The community's Celery tasks (found by `autodiscover_tasks`), one module per part."""

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

__all__ = [
    "auctions",
    "challenges",
    "club_services",
    "contributions",
    "discussions",
    "draws",
    "live",
    "moderation",
    "qa",
    "reviews",
]
