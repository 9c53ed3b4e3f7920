"""The club spaces' API routes (included under /api/v1/ by config.urls_api)."""

from django.urls import path

from . import api

urlpatterns = [
    path("club-spaces", api.SpaceListView.as_view(), name="api-club-spaces"),
    path("club-spaces/<slug:slug>", api.SpaceDetailView.as_view(), name="api-club-space"),
    path(
        "members/<str:external_id>/club-spaces", api.MemberSpacesView.as_view(), name="api-member-club-spaces"
    ),
]
