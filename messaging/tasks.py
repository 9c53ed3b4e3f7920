"""Messaging tasks: they run in the schema of the brand that queued them, and take ids."""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from core.outbox import outbox_register, task_send_at
from tenants.selectors import brand_list

from .models import ChannelSettings, Message
from .selectors.messages import schemas_with_sending_before
from .selectors.templates import channel_settings_get
from .services.sending import SENDING_TIMEOUT, message_send, messages_sending_expire


@shared_task(name="messaging.message_send")
def message_send_task(message_id: int, attempts: int) -> str | None:
    """Send one message once (`message_send`); a short wait (a rate limit) or a retry after a
    failure that sent nothing is queued again here, a longer one by the outbox sweeper, which also
    queues it again if a send is lost."""
    return _send(message_id=message_id, attempts=attempts, channel_settings=channel_settings_get())


@shared_task(name="messaging.messages_send")
def messages_send_task(sends: list[list[int]]) -> int:
    """Send each (message id, attempts) of a batch (a campaign's: `messages_send_queue`) as
    `message_send_task` does, the brand's channel settings read once for all of them. How many
    left for their provider."""
    channel_settings = channel_settings_get()
    states = [
        _send(message_id=message_id, attempts=attempts, channel_settings=channel_settings)
        for message_id, attempts in sends
    ]
    return sum(state in (Message.State.SENT, Message.State.DELIVERED) for state in states)


def _send(*, message_id: int, attempts: int, channel_settings: ChannelSettings) -> str | None:
    result = message_send(message_id=message_id, attempts=attempts, channel_settings=channel_settings)
    if result is None:
        return None
    if result.retry_at is not None or result.message.state == Message.State.QUEUED:
        # A longer wait (sending hours, a paused campaign) is the sweeper's, at the row's
        # `requeue_at` (`task_send_at`).
        task_send_at(
            task=message_send_task,
            schema_name=connection.schema_name,
            args=(message_id, result.message.attempts),
            at=result.retry_at or result.message.not_before or timezone.now(),
        )
    return result.message.state


@shared_task(name="messaging.sending_expire_all")
def messages_sending_expire_all_task() -> int:
    """In every brand holding some, mark `unknown` the messages a crash left `sending` (beat, every
    minute): the brands are found first with one look per 200 (`schemas_with_sending_before`)."""
    marked = 0
    now = timezone.now()
    schema_names = list(brand_list().values_list("schema_name", flat=True))
    for schema_name in schemas_with_sending_before(schema_names=schema_names, before=now - SENDING_TIMEOUT):
        with schema_context(schema_name):
            marked += messages_sending_expire(now=now)
    return marked


outbox_register(model=Message, task=message_send_task)
