"""The event types a brand's endpoint may subscribe to, and the envelope every delivery's body has:
`{"id", "type", "created_at", "data"}` (docs/webhooks.md lists each type's `data`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

EVENT_TYPES = {
    "member.created": _("a member was created"),
    "member.updated": _("a member's details changed"),
    "points.earned": _("points were earned"),
    "points.redeemed": _("points were spent on a gift"),
    "points.expired": _("points expired"),
    "points.reversed": _("points earned before were taken back (a refund, a cancelled order)"),
    "points.adjusted": _("staff or the API adjusted a balance"),
    "tier.changed": _("a member moved to another tier"),
    "order.status_changed": _("an order's status changed"),
    "subscription.changed": _("a VIP subscription started, renewed, failed or ended"),
    "message.delivered": _("a message reached the member"),
    "message.failed": _("a message could not be delivered"),
}


def event_types_check(value: object) -> list[str]:
    """What is wrong with `value` as the event types of an endpoint (empty: nothing)."""
    if not isinstance(value, list) or not value:
        return [str(_("a non-empty list of event types"))]
    unknown = [item for item in value if not isinstance(item, str) or item not in EVENT_TYPES]
    if unknown:
        return [
            str(_("unknown event type %(type)s; known: %(known)s"))
            % {"type": repr(unknown[0]), "known": ", ".join(EVENT_TYPES)}
        ]
    return []


def event_envelope(*, event_id: uuid.UUID, type: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The body of every delivery of one event (the same for each endpoint and each attempt)."""
    return {"id": str(event_id), "type": type, "created_at": at.isoformat(), "data": data}
