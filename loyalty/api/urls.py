"""URLs of the loyalty REST API (members, events, simulate, adjustments, rules, tiers)."""

from django.urls import path

from loyalty.api import members

urlpatterns = [
    path("members/<str:external_id>", members.MemberView.as_view(), name="api-member"),
    path("members/<str:external_id>/ledger", members.MemberLedgerView.as_view(), name="api-member-ledger"),
    path(
        "members/<str:external_id>/adjustments",
        members.MemberAdjustmentView.as_view(),
        name="api-member-adjustments",
    ),
]
