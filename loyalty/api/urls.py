"""URLs of the loyalty REST API (members, events, simulate, adjustments, rules, tiers, badges,
leaderboard, programme settings, offers, segments)."""

from django.urls import path

from loyalty.api import (
    badges,
    events,
    member_tiers,
    members,
    offers,
    programme,
    sales_reps,
    segments,
    settings,
)
from loyalty.api.activation import MemberActivationCodesView
from loyalty.api.invitations import MemberInvitationView
from loyalty.api.members_batch import MemberBatchView
from loyalty.api.privacy import MemberErasureView, MemberExportView

urlpatterns = [
    path("members/batch", MemberBatchView.as_view(), name="api-members-batch"),  # before a member's id
    path("members/<str:external_id>", members.MemberView.as_view(), name="api-member"),
    path("members/<str:external_id>/ledger", members.MemberLedgerView.as_view(), name="api-member-ledger"),
    path(
        "members/<str:external_id>/invitations",
        MemberInvitationView.as_view(),
        name="api-member-invitations",
    ),
    path(
        "members/<str:external_id>/adjustments",
        members.MemberAdjustmentView.as_view(),
        name="api-member-adjustments",
    ),
    path(
        "members/<str:external_id>/tier-evaluation",
        member_tiers.MemberTierEvaluationView.as_view(),
        name="api-member-tier-evaluation",
    ),
    path(
        "members/<str:external_id>/tier-preview",
        member_tiers.MemberTierPreviewView.as_view(),
        name="api-member-tier-preview",
    ),
    path("members/<str:external_id>/export", MemberExportView.as_view(), name="api-member-export"),
    path("members/<str:external_id>/erase", MemberErasureView.as_view(), name="api-member-erase"),
    path("sales-reps", sales_reps.SalesRepListView.as_view(), name="api-sales-reps"),
    path("members/<str:external_id>/badges", badges.MemberBadgesView.as_view(), name="api-member-badges"),
    path(
        "members/<str:external_id>/activation-codes",
        MemberActivationCodesView.as_view(),
        name="api-member-activation-codes",
    ),
    path("events", events.EventView.as_view(), name="api-events"),
    path("events/batch", events.EventBatchView.as_view(), name="api-events-batch"),
    path("simulate", events.SimulateView.as_view(), name="api-simulate"),
    path("rules", programme.RuleListView.as_view(), name="api-rules"),
    path("rules/<int:rule_id>", programme.RuleDetailView.as_view(), name="api-rule"),
    path("tiers", programme.TierListView.as_view(), name="api-tiers"),
    path("tiers/<str:code>", programme.TierDetailView.as_view(), name="api-tier"),
    path("badges", badges.BadgeListView.as_view(), name="api-badges"),
    path("badges/<str:code>", badges.BadgeDetailView.as_view(), name="api-badge"),
    path("leaderboard", badges.LeaderboardView.as_view(), name="api-leaderboard"),
    path("programme", settings.ProgrammeSettingsView.as_view(), name="api-programme"),
    path("offers", offers.OfferListView.as_view(), name="api-offers"),
    path("offers/<int:offer_id>", offers.OfferDetailView.as_view(), name="api-offer"),
    path("segments", segments.SegmentListView.as_view(), name="api-segments"),
    path(
        "segments/<int:segment_id>/preview", segments.SegmentPreviewView.as_view(), name="api-segment-preview"
    ),
]
