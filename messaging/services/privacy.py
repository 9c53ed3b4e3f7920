"""What messaging erases of a member who is anonymised (`loyalty.signals.member_anonymising`): the
recipient, subject, rendered text and HTML of every message sent or waiting for them. The rows
stay (channel, state, times, template), so the brand's figures and the message log still add up."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from messaging.models import Message


def member_messages_erase(*, member_id: int) -> int:
    """Erase the member's contact details and texts from their messages; those still waiting are
    cancelled (there is nobody to send them to). How many messages were erased."""
    now = timezone.now()
    waiting = (Message.State.QUEUED,)
    Message.objects.filter(member_id=member_id, state__in=waiting).update(
        state=Message.State.CANCELLED, requeue_at=None, updated_at=now
    )
    return Message.objects.filter(member_id=member_id).update(
        recipient="", subject="", body="", html="", error="", updated_at=now
    )


def member_anonymising_received(sender: Any, member_id: int, **kwargs: Any) -> None:
    member_messages_erase(member_id=member_id)
