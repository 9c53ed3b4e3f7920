"""Triggers through the API: the brand's triggers, and one kind on one channel switched on or off
with its template. Thin: `messaging.triggers` checks and writes, as for the backoffice's page."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.schema import error_responses
from loyalty.api.programme import body_object
from messaging.models import Trigger, TriggerKind
from messaging.models.triggers import DAYS_MAX, TRIGGER_CHANNEL_CHOICES, TRIGGER_CHANNELS
from messaging.triggers import trigger_put

KIND = OpenApiParameter(
    "kind", str, OpenApiParameter.PATH, enum=TriggerKind.values, description="what fires the trigger"
)
CHANNEL = OpenApiParameter(
    "channel", str, OpenApiParameter.PATH, enum=list(TRIGGER_CHANNELS), description="where its messages go"
)
NOT_FOUND = {404: "the brand has no trigger of this kind on this channel (`error.field`: `kind`)"}
INVALID = {
    400: "invalid trigger, nothing written: `error.field` names the field (`kind` or `channel` unknown, "
    "`template_code` naming no template of that channel, `days` missing, out of 1 to "
    f"{DAYS_MAX}, or given to a kind that takes none)"
}


class TriggerSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=TriggerKind.choices, read_only=True)
    channel = serializers.ChoiceField(choices=TRIGGER_CHANNEL_CHOICES, read_only=True)

    class Meta:
        model = Trigger
        fields = ["kind", "channel", "template_code", "is_active", "days", "updated_at"]
        read_only_fields = ["updated_at"]


class TriggerBodySerializer(serializers.Serializer):
    template_code = serializers.CharField(
        max_length=64, help_text="the code of a template of this channel; the member's language is picked"
    )
    is_active = serializers.BooleanField(help_text="messages are sent only while it is on")
    days = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="points_expiring: days before the points expire; activation_reminder: days after the "
        "code was issued; null for the other kinds",
    )


class TriggerListView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        operation_id="message_triggers_list",
        summary="The brand's message triggers",
        description="Every trigger the brand has set, on or off, by kind and channel. A kind without "
        f"a trigger sends nothing. Kinds: {', '.join(f'`{kind}`' for kind in TriggerKind.values)}.",
        responses={200: TriggerSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(TriggerSerializer(Trigger.objects.order_by("kind", "channel"), many=True).data)


def _trigger_or_404(kind: str, channel: str) -> Trigger:
    found = Trigger.objects.filter(kind=kind, channel=channel).first()
    return found_or_404(found, field="kind", message=f"no {kind} trigger on {channel}")


class TriggerDetailView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        operation_id="message_triggers_read",
        summary="One message trigger",
        description="The trigger of this kind on this channel.",
        parameters=[KIND, CHANNEL],
        responses={200: TriggerSerializer, **error_responses(404, why=NOT_FOUND)},
    )
    def get(self, request: Request, kind: str, channel: str) -> Response:
        return Response(TriggerSerializer(_trigger_or_404(kind, channel)).data)

    @extend_schema(
        operation_id="message_triggers_set",
        summary="Set a message trigger",
        description="Creates the trigger of this kind on this channel, or replaces it: its template "
        "(a template of that code must exist on the channel), whether it is on, and `days` for the "
        "time-based kinds. Each cause sends once (the ledger entry, the order's status change, the "
        "member and day of expiry...), whatever the number of times it fires.",
        parameters=[KIND, CHANNEL],
        request=TriggerBodySerializer,
        responses={
            200: TriggerSerializer,
            201: TriggerSerializer,
            **error_responses(400, why=INVALID),
        },
    )
    def put(self, request: Request, kind: str, channel: str) -> Response:
        body = TriggerBodySerializer(data=body_object(request))
        if not body.is_valid():
            raise exceptions.ValidationError(body.errors)
        data = dict(body.validated_data)
        data.setdefault("days", None)
        trigger, created = trigger_put(kind=kind, channel=channel, data=data)
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(TriggerSerializer(trigger).data, status=answer)
