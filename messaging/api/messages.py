"""The message log through the API, for the brand's systems and its support: every message sent, held
or skipped, with what it said and what became of it. Read-only; thin over
`messaging.selectors.messages`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.pagination import PagedApi
from core.api.schema import error_responses
from core.limits import field_max_length
from loyalty.api.serializers import AwareDateTimeField
from loyalty.models import Member
from loyalty.selectors.members import member_get
from messaging.checks import SKIP_REASONS
from messaging.models import Channel, Message, Purpose
from messaging.selectors.messages import message_get, messages_list

SKIP_REASONS_HELP = "; ".join(f"`{code}`: {words}" for code, words in SKIP_REASONS.items())


class MessageFilterSerializer(serializers.Serializer):
    member = serializers.CharField(
        required=False,
        max_length=field_max_length(model=Member, field="external_id"),
        help_text="only this member's messages, by external id",
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    state = serializers.ChoiceField(choices=Message.State.choices, required=False)
    since = AwareDateTimeField(
        required=False,
        help_text="only the messages created at or after this time (ISO 8601 with a UTC offset)",
    )


class MessageSerializer(serializers.ModelSerializer):
    member = serializers.CharField(source="member.external_id", help_text="the member's external id")
    channel = serializers.ChoiceField(choices=Channel.choices)
    purpose = serializers.ChoiceField(
        choices=Purpose.choices,
        help_text="marketing messages keep the sending hours and caps and need the member's consent",
    )
    state = serializers.ChoiceField(
        choices=Message.State.choices,
        help_text="queued (waiting, until `not_before` if set), sending, sent, delivered, failed, "
        "unknown (the send was cut off: the provider's word settles it), skipped (`skip_reason`), "
        "cancelled",
    )
    skip_reason = serializers.CharField(help_text=f"why it was skipped, empty otherwise: {SKIP_REASONS_HELP}")
    template = serializers.CharField(source="template_code", help_text="the code of its template")
    recipient = serializers.CharField(
        help_text="where it went: the e-mail address, the phone number or the postal address's lines"
    )
    body = serializers.CharField(help_text="the rendered text")
    not_before = serializers.DateTimeField(
        allow_null=True, help_text="held until then (sending hours, the provider's rate), or null"
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "member",
            "channel",
            "purpose",
            "state",
            "skip_reason",
            "template",
            "language",
            "recipient",
            "subject",
            "body",
            "trigger",
            "provider",
            "provider_id",
            "provider_status",
            "error",
            "not_before",
            "created_at",
            "sent_at",
            "delivered_at",
            "failed_at",
        ]
        read_only_fields = fields


MESSAGE_ID = OpenApiParameter("message_id", int, OpenApiParameter.PATH, description="the message's id")
STATES = ", ".join(f"`{state}`" for state in Message.State.values)


class MessageListView(BrandApi, PagedApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        summary="The message log: the brand's messages, newest first, filtered",
        description=(
            "Every message the platform sent, is holding or skipped, newest first, paged with "
            "`limit` (up to 200) and `offset`: its member, channel, purpose, state and why it was "
            "skipped, its template, language, recipient, subject and rendered text, what the "
            "provider said (id, status, error) and when it was created, sent, delivered or failed "
            "(ISO 8601, in the brand's timezone with its offset). Filters: `member` (external id), "
            f"`channel`, `state` ({STATES}), `since` (created at or after)."
        ),
        parameters=[MessageFilterSerializer],
        responses={
            200: MessageSerializer(many=True),
            **error_responses(
                400,
                404,
                why={
                    400: "a bad filter (`error.field`: `member`, `channel`, `state` or `since`)",
                    404: "no member with this external id (`error.field`: `member`)",
                },
            ),
        },
    )
    def get(self, request: Request) -> Response:
        filters = MessageFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        member = None
        if "member" in data:
            external_id = data.pop("member")
            member = found_or_404(
                member_get(external_id=external_id),
                field="member",
                message=f"no member with external id '{external_id}'",
            )
        return self.paginated(request, messages_list(member=member, **data), MessageSerializer)


class MessageDetailView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        summary="One message of the log",
        description="The message with this id, as the log lists it.",
        parameters=[MESSAGE_ID],
        responses={
            200: MessageSerializer,
            **error_responses(404, why={404: "no message with this id (`error.field`: `message_id`)"}),
        },
    )
    def get(self, request: Request, message_id: int) -> Response:
        message = found_or_404(
            message_get(message_id=message_id), field="message_id", message=f"no message with id {message_id}"
        )
        return Response(MessageSerializer(message).data)
