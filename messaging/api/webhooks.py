"""Outgoing webhooks for the brand's systems (docs/webhooks.md): endpoints (list, create: the answer
holds the signing secret, once; read, change, delete), an endpoint's deliveries with their
attempts, and sending a delivery again. Validated by `messaging.services.webhooks`, as the
backoffice's form is."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.pagination import PagedApi
from core.api.schema import error_responses
from loyalty.api.programme import body_object
from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from messaging.selectors.webhooks import (
    webhook_deliveries_list,
    webhook_endpoint_get,
    webhook_endpoints_list,
)
from messaging.services.webhooks import (
    webhook_delivery_send_again,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)
from messaging.webhooks.events import EVENT_TYPES

EVENT_LIST = ", ".join(f"`{code}`" for code in EVENT_TYPES)
INVALID = {
    400: "invalid endpoint, nothing written: `error.field` names the field (`url` not https://, or "
    "resolving to a loopback, private, link-local or metadata address; `events` empty or naming an "
    "unknown type; a field that is not an endpoint's)"
}
NO_ENDPOINT = {404: "no webhook endpoint with this id (`error.field`: `endpoint_id`)"}
ENDPOINT_ID = OpenApiParameter("endpoint_id", int, OpenApiParameter.PATH, description="the endpoint's id")
DELIVERY_ID = OpenApiParameter("delivery_id", int, OpenApiParameter.PATH, description="the delivery's id")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
        help_text=f"the event types sent to the endpoint, among {EVENT_LIST}",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "failing_since",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = ["id", "failing_since", "disabled_at", "disabled_reason", "created_at"]
        extra_kwargs = {
            "url": {"help_text": "where deliveries are POSTed: https://, resolving to public addresses only"},
            "description": {"help_text": "for the brand's staff, at most 200 characters"},
            "is_active": {
                "help_text": "false: nothing is sent to it; true again switches an endpoint back on "
                "(after it was switched off for failing a day)"
            },
            "failing_since": {"help_text": "the first failed attempt since its last success, or null"},
            "disabled_at": {"help_text": "when it was switched off, or null"},
            "disabled_reason": {"help_text": "why it was switched off"},
        }


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="the signing secret of `X-Loyalty-Signature`: in this answer only, never again",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["at", "status_code", "duration_ms", "response_body", "error"]
        extra_kwargs = {
            "status_code": {"help_text": "the receiver's HTTP status, or null (no answer)"},
            "response_body": {"help_text": "the start of the receiver's answer (1,000 characters at most)"},
            "error": {"help_text": "why the attempt failed (a timeout, a refused address, a status)"},
        }


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True, help_text="the endpoint's id")
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True, help_text="every attempt, oldest first")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "payload",
            "state",
            "attempts",
            "next_attempt_at",
            "first_attempt_at",
            "last_attempt_at",
            "succeeded_at",
            "last_response_status",
            "last_response_body",
            "last_error",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "event_id": {
                "help_text": "the event's id, the same on every attempt: the key to drop duplicates"
            },
            "payload": {"help_text": "the body sent: `{id, type, created_at, data}`"},
            "next_attempt_at": {"help_text": "when it is tried next, or null"},
        }


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    return found_or_404(endpoint, field="endpoint_id", message=f"no webhook endpoint with id {endpoint_id}")


class WebhookEndpointListView(BrandApi, APIView):
    api_scope = "webhooks"

    @extend_schema(
        operation_id="webhook_endpoints_list",
        summary="Every webhook endpoint",
        description="The brand's endpoints, oldest first, with their state (switched off after failing "
        "for a day, and why). Their secrets are never answered again after their creation.",
        responses={200: WebhookEndpointSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(WebhookEndpointSerializer(webhook_endpoints_list(), many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        summary="Subscribe an endpoint to event types",
        description="Creates an endpoint (`url` and `events` required). The URL must be https:// and "
        "its host must resolve to public addresses only. **The answer holds the endpoint's signing "
        "`secret`, this once**: store it with the receiver (docs/webhooks.md shows how to check a "
        "delivery's signature).",
        request=WebhookEndpointSerializer,
        responses={
            201: WebhookEndpointCreatedSerializer,
            **error_responses(
                400,
                422,
                codes={422: ["too_many_endpoints"]},
                why={**INVALID, 422: "the brand has 20 endpoints"},
            ),
        },
    )
    def post(self, request: Request) -> Response:
        endpoint = webhook_endpoint_create(data=body_object(request))
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(BrandApi, APIView):
    api_scope = "webhooks"

    @extend_schema(
        operation_id="webhook_endpoints_read",
        summary="One webhook endpoint",
        description="The endpoint with this id (without its secret).",
        parameters=[ENDPOINT_ID],
        responses={200: WebhookEndpointSerializer, **error_responses(404, why=NO_ENDPOINT)},
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(WebhookEndpointSerializer(_endpoint_or_404(endpoint_id)).data)

    @extend_schema(
        operation_id="webhook_endpoints_update",
        summary="Change a webhook endpoint (the fields given)",
        description="Sets the fields given (`url`, `description`, `events`, `is_active`); the others keep "
        "their value. `is_active: true` switches an endpoint back on; its deliveries given up stay so "
        "(send them again).",
        parameters=[ENDPOINT_ID],
        request=WebhookEndpointSerializer(partial=True),
        responses={
            200: WebhookEndpointSerializer,
            **error_responses(400, 404, why={**INVALID, **NO_ENDPOINT}),
        },
    )
    def patch(self, request: Request, endpoint_id: int) -> Response:
        endpoint = webhook_endpoint_update(endpoint=_endpoint_or_404(endpoint_id), data=body_object(request))
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhook_endpoints_delete",
        summary="Delete a webhook endpoint",
        description="Deletes the endpoint with its deliveries and their attempts: nothing more goes to it.",
        parameters=[ENDPOINT_ID],
        responses={204: OpenApiResponse(description="deleted"), **error_responses(404, why=NO_ENDPOINT)},
    )
    def delete(self, request: Request, endpoint_id: int) -> Response:
        webhook_endpoint_delete(endpoint=_endpoint_or_404(endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(PagedApi, BrandApi, APIView):
    api_scope = "webhooks"

    @extend_schema(
        operation_id="webhook_deliveries_list",
        summary="An endpoint's deliveries, latest first",
        description="Each delivery of an event to the endpoint: its state (`pending`, `succeeded`, "
        "`failed`: to be tried again at `next_attempt_at`, `given_up`), the body sent, and every "
        "attempt with the receiver's answer. Paged.",
        parameters=[ENDPOINT_ID],
        responses={200: WebhookDeliverySerializer(many=True), **error_responses(404, why=NO_ENDPOINT)},
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint_or_404(endpoint_id)
        return self.paginated(request, webhook_deliveries_list(endpoint=endpoint), WebhookDeliverySerializer)


class WebhookDeliveryRetryView(BrandApi, APIView):
    api_scope = "webhooks"

    @extend_schema(
        operation_id="webhook_deliveries_retry",
        summary="Send a delivery again",
        description="Queues a new attempt of the delivery, whatever its state, with the same event id "
        "(the receiver drops it if it has processed it). A failure of it is retried only within the "
        "day after the delivery's first attempt. The answer is the delivery, `pending`.",
        parameters=[DELIVERY_ID],
        request=None,
        responses={
            202: WebhookDeliverySerializer,
            **error_responses(
                404,
                422,
                codes={422: ["endpoint_switched_off"]},
                why={
                    404: "no webhook delivery with this id (`error.field`: `delivery_id`)",
                    422: "the delivery's endpoint is switched off: switch it on first",
                },
            ),
        },
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = webhook_delivery_send_again(delivery_id=delivery_id)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
