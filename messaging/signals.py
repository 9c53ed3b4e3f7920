"""Hooks of the messaging app that other modules listen to (the outgoing webhooks'
`message.delivered` and `message.failed`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal

from core.signals import signal_send_logged
from messaging.models import Message

# Sent after the transaction that settled a message commits, in the brand's schema, with
# `changes`: a list of MessageSettled. Receivers must not raise, and cost nothing when unused.
messages_settled = Signal()


@dataclass(frozen=True)
class MessageSettled:
    message_id: int
    member_id: int
    channel: str
    state: str  # delivered or failed
    template_code: str
    error: str


def message_settled_send(*, message: Message) -> None:
    """`messages_settled` after commit, if `message` (its state just set) is delivered or failed."""
    if message.state not in (Message.State.DELIVERED, Message.State.FAILED) or not messages_settled.receivers:
        return
    change = MessageSettled(
        message_id=message.pk,
        member_id=message.member_id,
        channel=message.channel,
        state=message.state,
        template_code=message.template_code,
        error=message.error[:300],
    )
    transaction.on_commit(lambda: signal_send_logged(messages_settled, sender=Message, changes=[change]))
