"""The backoffice's community pages, under /backoffice/community/ (`config.urls_tenant`), URL names
`community-bo:<name>`; each part's module lists its own."""

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

app_name = "community-bo"

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
