"""The community's routes of the brand REST API (`config.urls_api`); each part's module lists its own."""

from django.urls import include, path

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

urlpatterns = [path("", include(part.urlpatterns)) for part in PARTS]
