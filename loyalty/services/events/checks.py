"""Stage 1, the input check: an event's own fields, before any query: its idempotency key, member
and type, a plausible date, attributes PostgreSQL can store, and the facts the rules read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from core.errors import InvalidInput
from core.limits import field_max_length
from core.text import MAX_JSON_DEPTH, NUL, NUL_MESSAGE, json_too_deep, nul_path
from loyalty.engine import EventFacts, FactsError, event_facts
from loyalty.models import ActivityEvent
from loyalty.services.events.programme import Programme

# The limits of an event, which the API's parser reads from here: events per batch, and the
# idempotency key's length (the model's).
BATCH_MAX = 1000
IDEMPOTENCY_KEY_MAX = field_max_length(model=ActivityEvent, field="idempotency_key")
MAX_ATTRIBUTES_BYTES = 64 * 1024
# Levels of arrays and objects in an event's attributes, themselves included: within a batch's body
# (the body, its list of events, the event, the attributes), the API's MAX_JSON_DEPTH levels.
MAX_ATTRIBUTES_DEPTH = MAX_JSON_DEPTH - 3
REFUND = "refund"


@dataclass(frozen=True)
class EventInput:
    member: str  # the member's external id
    type: str  # an EventType.code of this brand
    occurred_at: datetime  # timezone-aware
    attributes: dict
    idempotency_key: str


# An event's attributes as they will be stored (JSON), and the facts its rules read.
Checked = tuple[dict, EventFacts]


def plausible_span(*, simulated: bool) -> tuple[datetime, datetime]:
    """The dates an event may have now: at most EVENTS_MAX_AGE_DAYS ago, at most
    EVENTS_MAX_AHEAD_SECONDS ahead of this server's clock (the sender's may be a little fast). A
    simulated event may be as far in the future as in the past (a rule tried before its period)."""
    now = timezone.now()
    age = timedelta(days=settings.EVENTS_MAX_AGE_DAYS)
    return now - age, now + (age if simulated else timedelta(seconds=settings.EVENTS_MAX_AHEAD_SECONDS))


def event_check(
    data: EventInput, *, programme: Programme, span: tuple[datetime, datetime], key_required: bool = True
) -> Checked:
    """The event's fields checked (`span`: the plausible dates); returns its attributes as they will
    be stored and its facts. Text holding a NUL character, which PostgreSQL refuses, is refused
    here, before any query."""
    attributes = fields_check(data, key_required=key_required, span=span)
    return attributes, facts_read(data, attributes, programme)


def fields_check(data: EventInput, *, key_required: bool, span: tuple[datetime, datetime]) -> dict:
    """What the service requires of an event's own fields, whoever sends it; returns its attributes
    as stored. Their types and shapes (texts that are non-blank strings, an aware date, an object
    of attributes) are the API parser's checks (`loyalty.api.parsing`), as `EventInput` types them
    for other callers; the attributes' type is checked again for the backoffice's JSON field."""
    key = data.idempotency_key
    if len(key) > IDEMPOTENCY_KEY_MAX or (key_required and not key):
        raise InvalidInput(f"is required, at most {IDEMPOTENCY_KEY_MAX} characters", field="idempotency_key")
    # A batch's texts are not checked for NUL by the parser (`BatchJSONParser`): refused here alone.
    if NUL in key:
        raise InvalidInput(NUL_MESSAGE, field="idempotency_key")
    if NUL in data.member:
        raise InvalidInput(NUL_MESSAGE, field="member")
    if NUL in data.type:
        raise InvalidInput(NUL_MESSAGE, field="type")
    occurred_at = data.occurred_at
    # Compared, not converted: a date at the edge of the range (year 1 at +14:00) has no UTC time.
    if occurred_at < span[0]:
        raise InvalidInput(
            f"is more than {settings.EVENTS_MAX_AGE_DAYS} days in the past", field="occurred_at"
        )
    if occurred_at > span[1]:
        raise InvalidInput(
            f"is too far in the future: at most {span[1]:%Y-%m-%dT%H:%M:%S}Z (the server's clock)",
            field="occurred_at",
        )
    if not isinstance(data.attributes, dict):
        raise InvalidInput("must be an object", field="attributes")
    return _attributes_stored(data.attributes)


def _attributes_stored(attributes: dict) -> dict:
    """The attributes as JSON will store them, refused when PostgreSQL could not take them."""
    try:
        encoded = json.dumps(attributes, cls=DjangoJSONEncoder, allow_nan=False)
    except RecursionError:
        encoded = None  # nested far too deep
    except (TypeError, ValueError):
        raise InvalidInput("must hold JSON values only", field="attributes") from None
    if encoded is None or json_too_deep(encoded, limit=MAX_ATTRIBUTES_DEPTH):
        raise InvalidInput(
            f"nested deeper than {MAX_ATTRIBUTES_DEPTH} levels of arrays and objects", field="attributes"
        )
    if len(encoded) > MAX_ATTRIBUTES_BYTES:
        raise InvalidInput(f"at most {MAX_ATTRIBUTES_BYTES // 1024} KB", field="attributes")
    if "\\u0000" in encoded:  # JSON's escape of NUL, or a backslash before "u0000" in a string
        path = nul_path(attributes, path="attributes")
        if path is not None:
            raise InvalidInput(NUL_MESSAGE, field=path)
    return json.loads(encoded)


def facts_read(data: EventInput, attributes: dict, programme: Programme) -> EventFacts:
    """What the rules read of the event; its type must be one of the programme's."""
    if data.type not in programme.event_types:
        raise InvalidInput(f"'{data.type}' is not an event type of this programme", field="type")
    try:
        return event_facts(
            type=data.type,
            occurred_at=data.occurred_at,
            attributes=attributes,
            tz=programme.tz,
            currency=programme.settings.currency,
        )
    except FactsError as error:
        raise InvalidInput(error.message, field=error.field) from None
