"""The community's backoffice lists and forms (Django's admin, through `core.admin_base`), one
module per part; importing them registers them."""

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
