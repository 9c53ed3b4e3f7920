"""The programme as code: earning rules and tiers, with the backoffice's validation (the services')."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.errors import ApiError
from core.api.schema import error_responses
from loyalty import rule_examples
from loyalty.api.serializers import RuleSerializer, TierSerializer
from loyalty.models import EarningRule, Tier
from loyalty.services.rules import rule_create, rule_delete, rule_update
from loyalty.services.tiers import tier_create, tier_delete, tier_update

INVALID = {400: "invalid definition, nothing written: `error.field` names the field"}
NO_RULE = {404: "no earning rule with this id"}
NO_TIER = {404: "no tier with this code"}


def body_object(request: Request) -> dict:
    """The request body, which must be a JSON object (the services check its fields)."""
    if not isinstance(request.data, dict):
        raise ApiError(field="body", message="must be a JSON object")
    return dict(request.data)


def rule_body(request: Request) -> dict:
    """The rule in the body, its JSON types checked first (a number where a number goes, a date
    where a date goes): the rules service then validates it as it validates the backoffice form."""
    body = body_object(request)
    types = RuleSerializer(data=body, partial=True)
    if not types.is_valid():
        raise exceptions.ValidationError(types.errors)
    return body


def _rule_or_404(rule_id: int) -> EarningRule:
    rule = EarningRule.objects.filter(pk=rule_id).first()
    return found_or_404(rule, field="id", message=f"no earning rule with id {rule_id}")


def _tier_or_404(code: str) -> Tier:
    tier = Tier.objects.filter(code=code).first()
    return found_or_404(tier, field="code", message=f"no tier with code '{code}'")


class RuleListView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        summary="Every earning rule, in the order they run",
        description=(
            "The programme's earning rules, by `priority` then id: the order the engine applies "
            "them to an event of their `event_type`."
        ),
        responses={200: RuleSerializer(many=True)},
    )
    def get(self, request):
        return Response(RuleSerializer(EarningRule.objects.order_by("priority", "id"), many=True).data)

    @extend_schema(
        summary="Create an earning rule",
        description=(
            "A rule awards points for events of its `event_type` that meet all its `conditions` "
            "(and, with `item_conditions`, for the items that meet them), as its `award_type` says. "
            "It is checked as the backoffice checks it: an unknown condition field, an operator that "
            "does not apply to it, a value of the wrong type are a 400 naming the condition."
        ),
        request=RuleSerializer,
        examples=[
            OpenApiExample(example["name"], value=example, request_only=True)
            for example in (
                rule_examples.SUBURB_TO_PARIS_HAPPY_HOUR,
                rule_examples.POINT_PER_EURO,
                rule_examples.DOUBLE_ON_FEATURED,
                rule_examples.REP_TEN_PERCENT_OF_FEATURED,
            )
        ],
        responses={201: RuleSerializer, **error_responses(400, why=INVALID)},
    )
    def post(self, request):
        rule = rule_create(data=rule_body(request))
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        summary="One earning rule",
        description="The earning rule with this id, with its budget used so far.",
        responses={200: RuleSerializer, **error_responses(404, why=NO_RULE)},
    )
    def get(self, request, rule_id: int):
        return Response(RuleSerializer(_rule_or_404(rule_id)).data)

    @extend_schema(
        summary="Change an earning rule (the fields given)",
        description=(
            "Sets the fields given, the others keep their value; the rule as changed is checked as "
            "a new one is. Events already recorded keep the points they earned."
        ),
        request=RuleSerializer,
        responses={200: RuleSerializer, **error_responses(400, 404, why={**INVALID, **NO_RULE})},
    )
    def put(self, request, rule_id: int):
        rule = _rule_or_404(rule_id)
        rule = rule_update(rule=rule, data=rule_body(request))
        return Response(RuleSerializer(rule).data, status=status.HTTP_200_OK)

    @extend_schema(
        summary="Delete an earning rule; one that already gave points is deactivated instead",
        description=(
            "A rule that never gave points is deleted (204). One that did is kept, inactive, so "
            "that the ledger entries it wrote still say why (200, with the rule)."
        ),
        responses={
            204: OpenApiResponse(description="deleted"),
            200: OpenApiResponse(RuleSerializer, description="deactivated: its ledger entries point at it"),
            **error_responses(404, why=NO_RULE),
        },
    )
    def delete(self, request, rule_id: int):
        rule = _rule_or_404(rule_id)
        rule_delete(rule=rule)
        kept = EarningRule.objects.filter(pk=rule_id).first()
        if kept is not None:
            return Response(RuleSerializer(kept).data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TierListView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        summary="Every tier, by threshold",
        description="The programme's tiers, lowest threshold first, with what each one gives.",
        responses={200: TierSerializer(many=True)},
    )
    def get(self, request):
        return Response(TierSerializer(Tier.objects.order_by("threshold"), many=True).data)

    @extend_schema(
        summary="Create a tier",
        description=(
            "A tier is reached when the member's qualifying amount (the programme's tier metric "
            "over its window) reaches its `threshold`; checked as the backoffice checks it."
        ),
        request=TierSerializer,
        responses={201: TierSerializer, **error_responses(400, why=INVALID)},
    )
    def post(self, request):
        tier = tier_create(data=body_object(request))
        return Response(TierSerializer(tier).data, status=status.HTTP_201_CREATED)


class TierDetailView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        summary="One tier",
        description="The tier with this code.",
        responses={200: TierSerializer, **error_responses(404, why=NO_TIER)},
    )
    def get(self, request, code: str):
        return Response(TierSerializer(_tier_or_404(code)).data)

    @extend_schema(
        summary="Change a tier (the fields given)",
        description=(
            "Sets the fields given, the others keep their value; the tier as changed is checked as "
            "a new one is."
        ),
        request=TierSerializer,
        responses={200: TierSerializer, **error_responses(400, 404, why={**INVALID, **NO_TIER})},
    )
    def put(self, request, code: str):
        tier = _tier_or_404(code)
        tier = tier_update(tier=tier, data=body_object(request))
        return Response(TierSerializer(tier).data, status=status.HTTP_200_OK)

    @extend_schema(
        summary="Delete a tier nobody holds",
        description="A tier that members hold, or have as a floor, cannot be deleted (409).",
        responses={
            204: OpenApiResponse(description="deleted"),
            **error_responses(
                404, 409, why={**NO_TIER, 409: "members hold this tier or have it as a floor: not deleted"}
            ),
        },
    )
    def delete(self, request, code: str):
        tier_delete(tier=_tier_or_404(code))
        return Response(status=status.HTTP_204_NO_CONTENT)
