"""Makers of the reviews tests: subjects, purchase events, the review triggers switched on."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from community.models import Subject
from loyalty.models import ActivityEvent, EventType, Member
from messaging.triggers import trigger_put
from tests.factories import template_make


def subject_make(*, kind: str = "product", reference: str | None = None, **data) -> Subject:
    reference = reference or f"SKU-{uuid.uuid4().hex[:8]}"
    return Subject.objects.create(kind=kind, reference=reference, name=data.pop("name", reference), **data)


def purchase(
    member: Member, *, at: datetime | None = None, type: str = "purchase", **attributes
) -> ActivityEvent:
    """A purchase event of the member as the pipeline stores one (no points: rules are not the point)."""
    EventType.objects.get_or_create(code=type, defaults={"name": type})
    return ActivityEvent.objects.create(
        idempotency_key=f"t-{uuid.uuid4().hex}",
        member=member,
        type=type,
        occurred_at=at or timezone.now() - timedelta(hours=1),
        attributes=attributes,
    )


def review_triggers_on(*kinds: str) -> None:
    """The review triggers of `kinds` on, by SMS, with a service template (members need a phone)."""
    for kind in kinds:
        code = kind.replace("_", "-")
        template_make(code, body="{{ first_name }}: {{ subject_name }} {{ review_url }}", purpose="service")
        trigger_put(kind=kind, channel="sms", data={"template_code": code, "is_active": True})
