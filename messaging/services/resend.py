"""A message sent again by staff (the backoffice member page's "Resend"): the same text, to the
member's current recipient, as a new row whose `retry_of` is the message it repeats, checked
again (consent, quiet hours...) and queued at once."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, NotFound, Refused
from core.outbox import enqueue_on_commit
from loyalty.models import Member
from messaging.models import Message
from messaging.services.sending import message_retry_queue

# A message still on its way is not sent again: it may yet arrive.
ON_ITS_WAY = (Message.State.QUEUED, Message.State.SENDING)


def message_resend(*, message_id: int) -> Message:
    """Queue the message `message_id` again for its member: the new message (maybe `skipped` by
    the checks, with its reason). Refused when the member is no longer active, when the message is
    still on its way or its text was erased."""
    from messaging.tasks import message_send_task  # the task module imports the services

    with transaction.atomic():
        message = (
            Message.objects.select_related("member")
            .select_for_update(of=("self",))
            .filter(pk=message_id)
            .first()
        )
        if message is None:
            raise NotFound(f"no message {message_id}", field="message")
        if message.member.status != Member.Status.ACTIVE:
            raise Refused("the member is not active", code="member_not_active", field="message")
        if message.state in ON_ITS_WAY:
            raise Conflict("the message is still on its way", field="message")
        if not message.body:
            raise Refused("the message's text was erased", code="message_erased", field="message")
        again = message_retry_queue(
            message=message,
            first=message,
            not_before=timezone.now(),
            dedupe_key=f"resend:{message.pk}:{uuid.uuid4().hex}",
        )
        if again.state == Message.State.QUEUED:
            enqueue_on_commit(message_send_task, again.pk, 0)
    return again
