"""Makers of the events tests' data, through the real services: an event, the event triggers on."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from gatherings.models import Gathering
from gatherings.services import gathering_create
from messaging.triggers import trigger_put
from tests.factories import template_make

EVENT_TEXTS = {
    "event_invitation": "Invited: {{ event_title }}, {{ event_date }}, {{ event_place }}: {{ event_url }}",
    "event_promoted": "A seat is yours at {{ event_title }} on {{ event_date }}, {{ event_place }}",
    "event_reminder": "Tomorrow: {{ event_title }} at {{ event_place }}, {{ event_date }}",
    "event_cancelled": "Cancelled: {{ event_title }} on {{ event_date }}",
}


def gathering_make(*, capacity: int = 10, starts_in: timedelta = timedelta(days=7), **data) -> Gathering:
    """A published event of the current schema, open to everyone unless told otherwise."""
    starts_at = timezone.now() + starts_in
    values = {
        "title": "Bordeaux tasting",
        "kind": Gathering.Kind.TASTING,
        "place": "12 quai des Chartrons",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=2),
        "capacity": capacity,
        "state": Gathering.State.PUBLISHED,
        **data,
    }
    return gathering_create(data=values)


def event_triggers_on(*kinds: str) -> None:
    """The event triggers of `kinds` (all of them by default) on, by SMS, with a service template."""
    for kind in kinds or tuple(EVENT_TEXTS):
        code = kind.replace("_", "-")
        template_make(code, body=EVENT_TEXTS[kind], purpose="service")
        trigger_put(kind=kind, channel="sms", data={"template_code": code, "is_active": True})
