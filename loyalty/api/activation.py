"""Activation codes for the brand's systems: a new code for a member (README.md, Activation codes),
answered once in clear; issuing it revokes the member's older codes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.schema import error_responses
from loyalty.api.base import member_or_404
from loyalty.models import ActivationCode
from loyalty.services.activation import activation_code_issue


class ActivationCodeSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="the code in clear, as printed for the member (`K7QM-2XPD-9R`: 10 characters of "
        "Crockford's base32, 50 bits). Shown in this answer only: the brand stores only its HMAC",
    )
    expires_at = serializers.DateTimeField(
        help_text="until when it activates the account (`activation_code_days` of the programme)"
    )


class MemberActivationCodesView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        operation_id="members_activation_code_issue",
        summary="Issue a new activation code for a member",
        description="A new single-use code with which the member sets their password on the member "
        "site's `/activate/` page, with their postcode (a reseller's launch letter prints it). The "
        "member's older codes are revoked. The code is in this answer only and cannot be read "
        "again: each call issues a new one (no `Idempotency-Key`). The member needs a postcode and "
        "must be neither blocked nor anonymised.",
        request=None,
        responses={
            201: ActivationCodeSerializer,
            **error_responses(
                404,
                422,
                codes={422: ["postal_code_missing", "member_blocked", "member_anonymised"]},
                why={
                    404: "no member with this external id (`error.field`: `external_id`)",
                    422: "the member cannot activate an account: no postcode (`error.field`: "
                    "`postal_code`), blocked or anonymised; nothing written",
                },
            ),
        },
    )
    def post(self, request, external_id: str):
        issued = activation_code_issue(
            member=member_or_404(external_id), by=None, source=ActivationCode.Source.API
        )
        body = ActivationCodeSerializer({"code": issued.code, "expires_at": issued.expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)
