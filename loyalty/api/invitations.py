"""Invitations: the brand's systems e-mail a member a link to set their password on the member site
(`loyalty.services.signup`), as the backoffice's member page does."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.schema import error_responses
from loyalty.api.base import member_or_404
from loyalty.services.signup import email_mask, invitation_send


class InvitationSerializer(serializers.Serializer):
    email = serializers.CharField(
        help_text="the address the invitation was sent to, masked: `a***@example.com`"
    )
    expires_at = serializers.DateTimeField(help_text="when the link stops working (it works once)")


class MemberInvitationView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        operation_id="members_invitation_send",
        summary="E-mail a member an invitation to the member site",
        description="Sends the member, at their e-mail address, a link to choose a password and log in "
        "to the brand's member site (`/join/invitation/<token>/`): signed, single use, valid 14 days. "
        "Their e-mail counts as verified once they use it. Sending another invitation is allowed; each "
        "link works until one of them is used. Members created through the API or an import get into "
        "the site this way (or by joining with the same e-mail address on `/join/`).",
        request=None,
        responses={
            201: InvitationSerializer,
            **error_responses(
                404,
                409,
                422,
                codes={
                    409: ["already_registered", "email_taken", "member_anonymised"],
                    422: ["no_email", "member_blocked"],
                },
                why={
                    404: "no member with this external id",
                    409: "the member has a login already (`already_registered`: they log in or reset "
                    "their password), another login has their e-mail address (`email_taken`), or "
                    "the member is anonymised",
                    422: "the member has no e-mail address (`no_email`: set one with "
                    "`PUT /members/{external_id}` first), or is blocked",
                },
            ),
        },
    )
    def post(self, request, external_id: str):
        sent = invitation_send(member=member_or_404(external_id), base_url=request.build_absolute_uri("/"))
        body = {"email": email_mask(sent.email), "expires_at": sent.expires_at}
        return Response(InvitationSerializer(body).data, status=status.HTTP_201_CREATED)
