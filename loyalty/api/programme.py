"""The programme as code: earning rules and tiers, with the backoffice's validation (the services')."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.errors import ApiError
from loyalty.api.serializers import ErrorSerializer, RuleSerializer, TierSerializer
from loyalty.models import EarningRule, Tier
from loyalty.services.rules import rule_create, rule_delete, rule_update
from loyalty.services.tiers import tier_create, tier_delete, tier_update

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="invalid definition: `error.field` names the field"),
    401: OpenApiResponse(ErrorSerializer, description="missing, unknown or revoked API key"),
    429: OpenApiResponse(ErrorSerializer, description="over the key's rate limit"),
}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="no such rule or tier")}
IN_USE = {409: OpenApiResponse(ErrorSerializer, description="still in use: cannot be deleted")}


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
    if rule is None:
        raise ApiError(field="id", message=f"no earning rule with id {rule_id}", status_code=404)
    return rule


def _tier_or_404(code: str) -> Tier:
    tier = Tier.objects.filter(code=code).first()
    if tier is None:
        raise ApiError(field="code", message=f"no tier with code '{code}'", status_code=404)
    return tier


class RuleListView(BrandApi, APIView):
    @extend_schema(
        summary="Every earning rule, in the order they run", responses={200: RuleSerializer(many=True)}
    )
    def get(self, request):
        return Response(RuleSerializer(EarningRule.objects.order_by("priority", "id"), many=True).data)

    @extend_schema(
        summary="Create an earning rule", request=RuleSerializer, responses={201: RuleSerializer, **ERRORS}
    )
    def post(self, request):
        rule = rule_create(data=rule_body(request))
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailView(BrandApi, APIView):
    @extend_schema(summary="One earning rule", responses={200: RuleSerializer, **NOT_FOUND})
    def get(self, request, rule_id: int):
        return Response(RuleSerializer(_rule_or_404(rule_id)).data)

    @extend_schema(
        summary="Change an earning rule (the fields given)",
        request=RuleSerializer,
        responses={200: RuleSerializer, **ERRORS, **NOT_FOUND},
    )
    def put(self, request, rule_id: int):
        rule = _rule_or_404(rule_id)
        rule = rule_update(rule=rule, data=rule_body(request))
        return Response(RuleSerializer(rule).data, status=status.HTTP_200_OK)

    @extend_schema(
        summary="Delete an earning rule; one that already gave points is deactivated instead",
        responses={
            204: OpenApiResponse(description="deleted"),
            200: OpenApiResponse(RuleSerializer, description="deactivated: its ledger entries point at it"),
            **NOT_FOUND,
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
    @extend_schema(summary="Every tier, by threshold", responses={200: TierSerializer(many=True)})
    def get(self, request):
        return Response(TierSerializer(Tier.objects.order_by("threshold"), many=True).data)

    @extend_schema(summary="Create a tier", request=TierSerializer, responses={201: TierSerializer, **ERRORS})
    def post(self, request):
        tier = tier_create(data=body_object(request))
        return Response(TierSerializer(tier).data, status=status.HTTP_201_CREATED)


class TierDetailView(BrandApi, APIView):
    @extend_schema(summary="One tier", responses={200: TierSerializer, **NOT_FOUND})
    def get(self, request, code: str):
        return Response(TierSerializer(_tier_or_404(code)).data)

    @extend_schema(
        summary="Change a tier (the fields given)",
        request=TierSerializer,
        responses={200: TierSerializer, **ERRORS, **NOT_FOUND},
    )
    def put(self, request, code: str):
        tier = _tier_or_404(code)
        tier = tier_update(tier=tier, data=body_object(request))
        return Response(TierSerializer(tier).data, status=status.HTTP_200_OK)

    @extend_schema(summary="Delete a tier nobody holds", responses={204: None, **NOT_FOUND, **IN_USE})
    def delete(self, request, code: str):
        tier_delete(tier=_tier_or_404(code))
        return Response(status=status.HTTP_204_NO_CONTENT)
