"""What an e-mail provider's tracking event does (README, "Messaging > E-mail"): it settles our
message (`message_status_apply`: forward only), and a hard bounce, a spam complaint or an
unsubscribe at the provider turns the member's e-mail consent off, recorded as a consent change.

The event names our message by the metadata sent with it (`messaging.providers.email`): the
message id and the brand's schema. An event naming another schema, or whose recipient is not the
message's, changes nothing: the webhook answers on one brand's host, for that brand's messages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from anymail.signals import EventType
from django.db import transaction

from loyalty.models import Member
from messaging.models import Channel, Message
from messaging.services.sending import message_status_apply
from messaging.services.unsubscribe import consent_withdraw
from tenants.selectors import schema_current

logger = logging.getLogger(__name__)

# anymail's normalised event type -> the message's state (None: no change of state).
EVENT_STATES: dict[str, str | None] = {
    EventType.QUEUED: Message.State.SENT,
    EventType.SENT: Message.State.SENT,
    EventType.DELIVERED: Message.State.DELIVERED,
    EventType.OPENED: Message.State.DELIVERED,
    EventType.CLICKED: Message.State.DELIVERED,
    EventType.COMPLAINED: Message.State.DELIVERED,
    EventType.UNSUBSCRIBED: Message.State.DELIVERED,
    EventType.AUTORESPONDED: Message.State.DELIVERED,
    EventType.BOUNCED: Message.State.FAILED,
    EventType.REJECTED: Message.State.FAILED,
    EventType.FAILED: Message.State.FAILED,
}
# The consent change's source per event type (a bounce only when hard: `EmailEvent.hard`).
CONSENT_SOURCES = {
    EventType.BOUNCED: "bounce",
    EventType.COMPLAINED: "complaint",
    EventType.UNSUBSCRIBED: "unsubscribe at the provider",
}


@dataclass(frozen=True)
class EmailEvent:
    """One provider event, in plain data (from anymail's `AnymailTrackingEvent`)."""

    event_type: str
    metadata: Mapping[str, Any]
    provider_id: str
    recipient: str
    description: str = ""
    # A bounce the address will not recover from (False: a soft bounce, the mailbox was full...).
    hard: bool = True


def _our_message(event: EmailEvent) -> Message | None:
    if str(event.metadata.get("schema", "")) != schema_current():
        return None
    raw = str(event.metadata.get("message_id", ""))
    if not raw.isdigit():
        return None
    message = Message.objects.filter(pk=int(raw), channel=Channel.EMAIL).first()
    if message is None or message.recipient.strip().lower() != event.recipient.strip().lower():
        return None
    return message


def email_event_apply(*, event: EmailEvent) -> Message | None:
    """Apply one event to the brand's message it names; None when it names none of them."""
    message = _our_message(event)
    if message is None:
        logger.info(
            "e-mail event %s for no message of %s: %s", event.event_type, schema_current(), event.metadata
        )
        return None
    state = EVENT_STATES.get(event.event_type)
    source = CONSENT_SOURCES.get(event.event_type)
    if event.event_type == EventType.BOUNCED and not event.hard:
        # A soft bounce: the provider tries again, a delivery or a hard bounce settles it later.
        state, source = None, None
    if (
        source is not None
        and not Member.objects.filter(pk=message.member_id, email__iexact=message.recipient).exists()
    ):
        source = None  # the member has another address since: that one did not bounce
    with transaction.atomic():
        if state is not None:
            message = (
                message_status_apply(
                    message_id=message.pk,
                    state=state,
                    provider_id=event.provider_id,
                    provider_status=event.event_type,
                    error=event.description if state == Message.State.FAILED else "",
                )
                or message
            )
        if source is not None:
            consent_withdraw(member_id=message.member_id, channel=Channel.EMAIL, source=source)
    return message
