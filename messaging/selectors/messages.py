"""Reads of the brand's messages (the message log: the API and support); they create nothing."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from loyalty.models import Member
from messaging.models import Message


def messages_list(
    *,
    member: Member | None = None,
    channel: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
) -> QuerySet[Message]:
    """The brand's messages, newest first, of `member`, on `channel`, in `state`, created at or
    after `since` (each filter when given), with their member."""
    rows = Message.objects.select_related("member")
    if member is not None:
        rows = rows.filter(member=member)
    if channel:
        rows = rows.filter(channel=channel)
    if state:
        rows = rows.filter(state=state)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    return rows.order_by("-created_at", "-id")


def message_get(*, message_id: int) -> Message | None:
    return Message.objects.select_related("member").filter(pk=message_id).first()
