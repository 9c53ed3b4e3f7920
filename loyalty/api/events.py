"""Activity events: one (with an `Idempotency-Key`), a batch of up to 1,000, and the simulator."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import IDEMPOTENCY_HEADER, BrandApi, idempotency_key_get, replayable_response
from core.api.errors import domain_error_body, domain_error_status
from core.api.schema import error_responses
from core.errors import DomainError
from loyalty.api.parsing import BATCH_MAX, BatchJSONParser, batch_parse, event_parse
from loyalty.api.serializers import (
    BatchInputSerializer,
    BatchResultSerializer,
    EventInputSerializer,
    EventResultSerializer,
    SimulationSerializer,
)
from loyalty.services.events import (
    IDEMPOTENCY_KEY_MAX,
    EventInput,
    NotRecorded,
    event_record,
    event_simulate,
    events_record_batch,
)

# The errors of one event, as `POST /events` and `POST /simulate` answer them.
EVENT_WHY = {
    404: "unknown member (unless the brand creates members on their first event), or the "
    "`original_event` of a refund",
    409: "this `Idempotency-Key` was already used for a different event",
    422: "the event cannot be applied: the member is blocked or anonymised, a refund of a refund or "
    "of another member's event",
}
EVENT_EXAMPLES = [
    OpenApiExample(
        "A purchase, with its items",
        request_only=True,
        value={
            "member": "rider-001",
            "type": "purchase",
            "occurred_at": "2026-11-20T19:30:00+01:00",
            "attributes": {
                "amount": "42.50",
                "currency": "EUR",
                "items": [{"sku": "BOOK-1", "category": "featured", "quantity": 1, "unit_price": "42.50"}],
            },
        },
    ),
    OpenApiExample(
        "A trip",
        request_only=True,
        value={
            "member": "rider-001",
            "type": "trip",
            "occurred_at": "2026-11-20T19:30:00+01:00",
            "attributes": {"zone_from": 3, "zone_to": 1},
        },
    ),
]
EVENT_CODES = {404: ["not_found"], 409: ["conflict"], 422: ["unprocessable"]}


def _event_input(fields: dict, *, key: str) -> EventInput:
    return EventInput(
        member=fields["member"],
        type=fields["type"],
        occurred_at=fields["occurred_at"],
        attributes=fields["attributes"],
        idempotency_key=key,
    )


def _key_named(error: DomainError, field: str) -> DomainError:
    """The error, naming the service's `idempotency_key` as the API does: the `Idempotency-Key`
    header of one event, the `id` of a batch's event."""
    if error.field != "idempotency_key":
        return error
    return type(error)(error.message, field=field, code=error.code)


def _batch_result(result: dict) -> dict:
    """An item's answer: its result, or its error in the one error shape with the status the event
    alone would have been answered."""
    error = result.get("error")
    if error is None:
        return result
    error = _key_named(error, "id")
    status_code = (
        status.HTTP_503_SERVICE_UNAVAILABLE if isinstance(error, NotRecorded) else domain_error_status(error)
    )
    return {**result, "error": {**domain_error_body(error)["error"], "status": status_code}}


class EventView(BrandApi, APIView):
    api_scope = "events"

    @extend_schema(
        summary="Record one event: the points it earns, per beneficiary, with the explanation",
        description=(
            "Records an activity event of the member (a purchase, a trip...) and applies the "
            "programme's earning rules to it: the answer lists the points each beneficiary got "
            "(the member, their sales rep) with the rule and its explanation, and the member's new "
            "balance. A `refund` event with `attributes.original_event` takes back what that event "
            "earned. Sending the same `Idempotency-Key` again answers the original 201 and body with "
            "`replayed: true` and the header `Idempotent-Replayed: true`, and writes nothing."
        ),
        request=EventInputSerializer,
        examples=EVENT_EXAMPLES,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description=(
                    f"a key unique to this event (at most {IDEMPOTENCY_KEY_MAX} characters), "
                    "sent again on retries"
                ),
            )
        ],
        responses={
            201: EventResultSerializer,
            **error_responses(404, 409, 422, why=EVENT_WHY, codes=EVENT_CODES),
        },
    )
    def post(self, request):
        key = idempotency_key_get(request, required=True)
        fields = event_parse(request.data)
        try:
            result = event_record(data=_event_input(fields, key=key))
        except DomainError as error:
            raise _key_named(error, IDEMPOTENCY_HEADER) from None
        return replayable_response(result, status_code=status.HTTP_201_CREATED, replayed=result["replayed"])


class EventBatchView(BrandApi, APIView):
    api_scope = "events"
    parser_classes = [BatchJSONParser]

    @extend_schema(
        summary=f"Record up to {BATCH_MAX} events, each with its `id` as idempotency key",
        description=(
            "A malformed batch (not an object with a list of `events`, no event, more than 1,000 "
            "events, a field other than `events`, a body that is not JSON) is refused whole with a 400 "
            "naming the field, and nothing is written. Otherwise each event is answered on its own: "
            "`results` has, in the same order, each event's answer or its `error`, naming the event's "
            "field at fault (an event that is not an object, a field missing or of the wrong type, a "
            "date that does not read, an unknown member, a NUL character, a date older than "
            "EVENTS_MAX_AGE_DAYS days or ahead of the server's clock, an amount that is not a plain "
            "number...: that event only, the others are recorded). An error with status 503 means "
            "the event was not recorded (the database refused its part of the batch): send the "
            "batch again, the events already recorded are answered as replays (`replayed: true`) and "
            "earn nothing twice."
        ),
        request=BatchInputSerializer,
        responses={200: BatchResultSerializer},
    )
    def post(self, request):
        parsed = batch_parse(request.data)
        items = [_event_input(fields, key=fields["id"]) for fields in parsed if "error" not in fields]
        recorded = iter(events_record_batch(items=items) if items else ())
        results = [fields if "error" in fields else _batch_result(next(recorded)) for fields in parsed]
        return Response({"results": results})


class SimulateView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        summary="What this event would earn, and why; writes nothing",
        description=(
            "Runs the earning rules on the event as `POST /events` would, without recording it: "
            "the awards and balance it would give, and a `trace` of every rule considered, with "
            "each condition, the value compared and whether it held."
        ),
        request=EventInputSerializer,
        examples=EVENT_EXAMPLES,
        responses={200: SimulationSerializer, **error_responses(404, 422, why=EVENT_WHY, codes=EVENT_CODES)},
    )
    def post(self, request):
        fields = event_parse(request.data)
        return Response(event_simulate(data=_event_input(fields, key="")))
