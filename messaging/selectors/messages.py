"""Reads of the brand's messages (the message log: the API and support); they create nothing."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
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


# Brands' schemas looked at per statement by `schemas_with_sending_before`.
SCHEMAS_PER_LOOK = 200


def schemas_with_sending_before(*, schema_names: list[str], before: datetime) -> list[str]:
    """The schemas among `schema_names` holding a message still `sending` since before `before`
    (a crash's), in their order. Raw SQL, as `core.outbox.outbox_schemas_due`: one statement per
    `SCHEMAS_PER_LOOK` schemas, each one probe of the partial index on `sending_at`, so the beat's
    minute costs a few statements with a thousand brands, not one UPDATE per brand."""
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)
    found: set[str] = set()
    for start in range(0, len(schema_names), SCHEMAS_PER_LOOK):
        chunk = schema_names[start : start + SCHEMAS_PER_LOOK]
        looks = [
            f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(schema)}.{table} "  # noqa: S608 - quoted names
            "WHERE state = 'sending' AND sending_at < %s)"
            for schema in chunk
        ]
        params = [value for schema in chunk for value in (schema, before)]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(looks), params)
            found.update(schema for (schema,) in cursor.fetchall())
    return [schema for schema in schema_names if schema in found]
