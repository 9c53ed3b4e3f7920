"""A member's tier, explained: re-evaluated now (as the nightly run does), or previewed at a future
date from the data held now. Both answer the same shape, from the same decision
(`loyalty.selectors.tiers.tier_decision_sql`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.schema import error_responses
from loyalty.api.base import member_or_404
from loyalty.api.serializers import StrictSerializer
from loyalty.models import ProgrammeSettings
from loyalty.selectors.tiers import TIER_PREVIEW_MAX_DAYS, TierOutcome, tier_preview
from loyalty.services.tiers import member_tier_evaluate

REASONS = {
    "upgraded": "the member moved up a tier",
    "kept": "the member keeps their tier",
    "downgraded": "the member moved down (at once, or at the end of their grace period)",
    "in_grace": "the member falls short of their tier but keeps it until `grace_ends_at`",
}
WHY = {
    404: "no member with this external id",
    409: "the member is anonymised: their tier is no longer evaluated",
}


class TierThresholdSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2)
    threshold_inclusive = serializers.BooleanField(
        help_text="true: reached at the threshold itself ('at least'); false: above it only ('over')"
    )


class ThresholdCheckSerializer(TierThresholdSerializer):
    met = serializers.BooleanField(help_text="whether the qualifying amount reaches this threshold")


class TierOutcomeSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="the moment evaluated (a preview: that date's nightly run)")
    window_start = serializers.DateTimeField(
        allow_null=True, help_text="where the qualification window ending `at` starts (null: lifetime)"
    )
    tier_metric = serializers.ChoiceField(source="metric", choices=ProgrammeSettings.TierMetric.choices)
    qualifying_amount = serializers.DecimalField(
        source="value",
        max_digits=16,
        decimal_places=2,
        help_text="the tier metric over the window: points earned, amount spent or a count of events",
    )
    previous_tier = TierThresholdSerializer(allow_null=True, help_text="the tier before")
    tier = TierThresholdSerializer(allow_null=True, help_text="the tier after")
    qualified_tier = TierThresholdSerializer(
        allow_null=True, help_text="the tier the qualifying amount reaches by itself (before floor and grace)"
    )
    by_floor = serializers.BooleanField(help_text="the member is held up by a staff-set floor")
    reason = serializers.ChoiceField(
        choices=list(REASONS), help_text="; ".join(f"`{code}`: {text}" for code, text in REASONS.items())
    )
    threshold = serializers.SerializerMethodField(
        help_text="the threshold that decided: the one missed when going down or in grace, else the tier's"
    )
    next_tier = TierThresholdSerializer(allow_null=True, help_text="the tier above, and what it takes")
    grace_started_at = serializers.DateTimeField(allow_null=True)
    grace_ends_at = serializers.DateTimeField(
        allow_null=True, help_text="in grace: the member goes down at the first nightly run from then on"
    )

    @extend_schema_field(ThresholdCheckSerializer(allow_null=True))
    def get_threshold(self, outcome: TierOutcome) -> dict | None:
        if outcome.threshold_tier is None:
            return None
        return {**TierThresholdSerializer(outcome.threshold_tier).data, "met": outcome.threshold_met}


class TierEvaluationSerializer(TierOutcomeSerializer):
    changed = serializers.BooleanField(help_text="the tier changed (a row of the member's tier history)")


class TierPreviewSerializer(TierOutcomeSerializer):
    steps = TierOutcomeSerializer(
        many=True, help_text="the nightly runs before `at` that would change the tier or start a grace period"
    )


class TierPreviewQuerySerializer(StrictSerializer):
    at = serializers.DateField(help_text="a date after today, in the brand's timezone (YYYY-MM-DD)")


class MemberTierEvaluationView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        summary="Re-evaluate the member's tier now, and say why",
        description=(
            "Places the member now with the decision the nightly run makes (the same statement): "
            "the tier before and after, the qualifying amount over the programme's window, the "
            "threshold met or missed, the next tier up, the grace period, and the reason. A change "
            "is recorded in the member's tier history, as the nightly run would record it."
        ),
        request=None,
        responses={200: TierEvaluationSerializer, **error_responses(404, 409, why=WHY)},
    )
    def post(self, request, external_id: str):
        outcome = member_tier_evaluate(member_id=member_or_404(external_id).pk)
        return Response(TierEvaluationSerializer(outcome).data)


class MemberTierPreviewView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        summary="The member's tier at a future date, from the data held now",
        description=(
            "What the member's tier would be on `at` if nothing more happened: every nightly run "
            "until then is played with the evaluation's own decision, so activity leaving the "
            "window counts out and a grace period started on the way ends on time (downgrade and "
            "grace settings can be checked before members live through them). `steps` lists the "
            "nights that would change the tier or start a grace period. Nothing is written. `at` "
            f"is a date after today, at most {TIER_PREVIEW_MAX_DAYS} days ahead."
        ),
        parameters=[TierPreviewQuerySerializer],
        responses={200: TierPreviewSerializer, **error_responses(400, 404, 409, why=WHY)},
    )
    def get(self, request, external_id: str):
        member = member_or_404(external_id)
        query = TierPreviewQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        outcome = tier_preview(member=member, on=query.validated_data["at"])
        return Response(TierPreviewSerializer(outcome).data)
