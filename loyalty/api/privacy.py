"""GDPR through the API (README.md, "Backoffice", GDPR): a member's data as JSON, and their
erasure, as the backoffice's member page does."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.schema import error_responses
from loyalty.api.base import member_or_404
from loyalty.api.serializers import StrictSerializer
from loyalty.services.privacy import member_erase, member_export

NO_MEMBER = {404: "no member with this external id"}


class MemberExportSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    exported_at = serializers.DateTimeField()
    apps = serializers.DictField(
        child=serializers.DictField(),
        help_text="what each part of the platform holds about the member, by part: `loyalty` (profile, "
        "consents and their history, logins, sign-ups, events, ledger, tiers, badges, activation "
        "codes), `catalog` (orders), `messaging` (messages, letters), `billing` (subscriptions, "
        "payments), `gatherings`, `clubs`, `core` (the audit trail of the member)",
    )


class ErasureInputSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=1000, help_text="why (kept in the audit, without the person's name)"
    )


class ErasureSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    status = serializers.CharField(help_text="`anonymised`")


class MemberExportView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        operation_id="members_personal_data_export",
        summary="Everything the brand holds about a member (GDPR export)",
        description="The member's personal data as JSON, from every part of the platform: profile and "
        "consents with their history, logins and sign-ups, events, ledger with explanations, tier "
        "history, badges, activation codes, orders, messages and letters, VIP subscriptions and "
        "payments, event answers, club spaces, and the audit trail of the member. Each export is "
        "recorded in the audit trail, with the key.",
        responses={200: MemberExportSerializer, **error_responses(404, why=NO_MEMBER)},
    )
    def get(self, request, external_id: str):
        return Response(MemberExportSerializer(member_export(member=member_or_404(external_id))).data)


class MemberErasureView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        operation_id="members_personal_data_erase",
        summary="Erase a member's personal data (GDPR erasure)",
        description="Removes or replaces the member's name, e-mail, phone and address everywhere the "
        "platform holds them (member, logins, sign-ups, where consents came from, events' attributes, "
        "ledger reasons, orders' addresses, messages, Stripe customer link, audit trail, jobs), and "
        "anonymises the member. The ledger's amounts and dates stay, so the books still add up; the "
        "consents keep their history (channel, yes or no, when, how). The external id stays. "
        "Audited with the key; erasing again is harmless.",
        request=ErasureInputSerializer,
        responses={
            200: ErasureSerializer,
            **error_responses(
                404,
                422,
                codes={422: ["subscription_running"]},
                why={
                    **NO_MEMBER,
                    422: "the member's VIP subscription is still billed: cancel it first",
                },
            ),
        },
    )
    def post(self, request, external_id: str):
        member = member_or_404(external_id)
        serializer = ErasureInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        erased = member_erase(member=member, by=None, reason=serializer.validated_data["reason"])
        return Response(ErasureSerializer({"external_id": erased.external_id, "status": erased.status}).data)
