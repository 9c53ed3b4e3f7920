"""Reading events out of request bodies: types, sizes and the date format, before the events service.

The shape and type checks of an event are here (texts, their lengths from the models, an aware
date, an object of attributes); the events service checks what it requires of any caller (the
key's limit, NUL characters, a plausible date, attributes JSON can store, a type of the programme),
so nothing is checked twice but the attributes being an object.

Hand-written rather than DRF serializers: a batch holds up to 1,000 events, and DRF's field
machinery costs about 0.15 ms per event here, a third of the batch's budget (2,000 events/s). The
serializers `EventInputSerializer` and `BatchInputSerializer` describe the same shape in the OpenAPI
schema. Errors are DRF `ValidationError`s, so they come out in the API's one error shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework.exceptions import ValidationError

from core.api.base import ApiJSONParser
from core.api.errors import error_body
from core.limits import field_max_length
from loyalty.models import EventType, Member
from loyalty.services.events import BATCH_MAX, IDEMPOTENCY_KEY_MAX

MEMBER_MAX = field_max_length(model=Member, field="external_id")
TYPE_MAX = field_max_length(model=EventType, field="code")
OCCURRED_AT_FORMAT = "must be an ISO 8601 date-time with a UTC offset, such as 2026-03-01T18:30:00+01:00"
_REQUIRED = "is required"


class BatchJSONParser(ApiJSONParser):
    """A batch's body: what a batch holds beyond its events' attributes is checked by `batch_parse`
    (strings where strings go), and an event with a NUL character or attributes nested too deep is
    refused in its own answer by the events service, so that the other events are recorded. (The
    depth check of a whole batch body would cost 4 ms, more than parsing it.)"""

    item_checks = True


def aware_datetime_parse(value: Any) -> datetime | None:
    """An ISO 8601 date-time with its offset, or None: an event's time is never guessed."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _text(data: dict, field: str, max_length: int, errors: dict) -> str:
    value = data.get(field)
    if value is None:
        errors[field] = [_REQUIRED]
    elif not isinstance(value, str):
        errors[field] = ["must be a string"]
    elif not value.strip():
        errors[field] = ["may not be blank"]
    elif len(value.strip()) > max_length:
        errors[field] = [f"at most {max_length} characters"]
    else:
        return value.strip()
    return ""


def _event_parse(data: Any, *, with_id: bool) -> tuple[dict, dict[str, list[str]]]:
    """(fields, errors) of one event: member, type, occurred_at, attributes (and its id in a batch)."""
    if not isinstance(data, dict):
        return {}, {"non_field_errors": ["must be an object with member, type, occurred_at, attributes"]}
    errors: dict[str, list[str]] = {}
    known = ("id", "member", "type", "occurred_at", "attributes") if with_id else (
        "member", "type", "occurred_at", "attributes"
    )  # fmt: skip
    for field in data:
        if field not in known:
            errors[field] = ["is not a known field"]
    fields = {
        "member": _text(data, "member", MEMBER_MAX, errors),
        "type": _text(data, "type", TYPE_MAX, errors),
        "occurred_at": aware_datetime_parse(data.get("occurred_at")),
        "attributes": data.get("attributes", {}),
    }
    if fields["occurred_at"] is None:
        errors["occurred_at"] = [_REQUIRED if data.get("occurred_at") is None else OCCURRED_AT_FORMAT]
    if not isinstance(fields["attributes"], dict):
        errors["attributes"] = ["must be an object"]
    if with_id:
        fields["id"] = _text(data, "id", IDEMPOTENCY_KEY_MAX, errors)
    return fields, errors


def event_parse(data: Any) -> dict:
    """One event's fields, or a ValidationError naming each bad field."""
    fields, errors = _event_parse(data, with_id=False)
    if errors:
        raise ValidationError(errors)
    return fields


def batch_parse(data: Any) -> list[dict]:
    """The events of a batch body `{"events": [...]}`, one entry per event in order: its fields, or,
    for an event that is not well-formed (not an object, a field missing, of the wrong type, a date
    that does not read), its answer `{"id": ..., "error": {...}}`: the one error shape, naming its
    first bad field (null when the event is not an object), with `"status": 400`, so that the
    other events are recorded. A batch that is not of that shape (not an object, `events` missing,
    not a list, empty or over BATCH_MAX events, another field) is a ValidationError: nothing goes
    further."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ['must be an object: {"events": [...]}']})
    unknown = {field: ["is not a known field"] for field in data if field != "events"}
    events = data.get("events")
    if events is None:
        raise ValidationError({"events": [_REQUIRED], **unknown})
    if not isinstance(events, list):
        raise ValidationError({"events": ["must be a list of events"], **unknown})
    if not events:
        raise ValidationError({"events": ["must hold at least one event"], **unknown})
    if len(events) > BATCH_MAX:
        raise ValidationError(
            {"events": [f"at most {BATCH_MAX} events per batch, got {len(events)}"]}, code="max_length"
        )
    if unknown:
        raise ValidationError(unknown)
    parsed = []
    for item in events:
        fields, errors = _event_parse(item, with_id=True)
        if errors:
            field, messages = next(iter(errors.items()))
            key = item.get("id") if isinstance(item, dict) else None
            body = error_body(
                field=None if field == "non_field_errors" else field,
                message=" ".join(messages),
                code="invalid",
                details={name: texts for name, texts in errors.items() if name != "non_field_errors"},
            )
            fields = {"id": key if isinstance(key, str) else None, "error": {**body["error"], "status": 400}}
        parsed.append(fields)
    return parsed
