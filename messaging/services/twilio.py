"""What Twilio's callbacks change (README, "Messaging > SMS and calls"); `messaging.hooks_twilio`
verifies them and calls these.

A status moves a message forward only (`message_status_apply`): duplicates and late callbacks change
nothing. A call that rang out or met a busy line is retried (`VOICE_RETRIES` times at most,
`VOICE_RETRY_DELAY_HOURS` apart), each retry a message of its own pointing at the first. A reply
"STOP" (or "ARRET", "STOP SMS"...) opts the member out of SMS, recorded as a consent change.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput
from loyalty.models import Member
from loyalty.services.members import consent_set
from messaging.models import Channel, Message
from messaging.services.sending import message_retry_queue, message_status_apply, opted_out_source

logger = logging.getLogger(__name__)

State = Message.State

# Twilio's MessageStatus values and what they are to us: "queued" and "sending" mean Twilio has it.
SMS_STATES = {
    "accepted": State.SENT,
    "scheduled": State.SENT,
    "queued": State.SENT,
    "sending": State.SENT,
    "sent": State.SENT,
    "delivered": State.DELIVERED,
    "read": State.DELIVERED,
    "undelivered": State.FAILED,
    "failed": State.FAILED,
    "canceled": State.CANCELLED,
}
# Twilio's CallStatus values: a call is delivered when it was answered and ended.
CALL_STATES = {
    "queued": State.SENT,
    "initiated": State.SENT,
    "ringing": State.SENT,
    "in-progress": State.SENT,
    "completed": State.DELIVERED,
    "busy": State.FAILED,
    "no-answer": State.FAILED,
    "failed": State.FAILED,
    "canceled": State.CANCELLED,
}
CALL_RETRIED = {"busy": "the line was busy", "no-answer": "no answer"}

# Replies that opt out of SMS, compared without case, accents, punctuation or extra spaces: the
# French "STOP" and "ARRET" (with "SMS" after them, as French senders print it) and the keywords
# Twilio itself treats as an opt-out (it then refuses to send to that number, error 21610).
OPT_OUT_REPLIES = frozenset(
    {"stop", "stop sms", "arret", "arret sms", "stopall", "unsubscribe", "cancel", "end", "quit"}
)
STOP_SOURCE = "sms STOP"
# Replies that undo a stop (Twilio's own opt-in keywords): they give SMS back only to the members
# whose SMS consent a stop reply (or Twilio's refusal, `OPTED_OUT_SOURCE`) withdrew, never a yes
# they did not give before.
OPT_IN_REPLIES = frozenset({"start", "unstop", "yes"})
START_SOURCE = "sms START"
# Twilio refused to send to the number (error 21610): its owner replied STOP to one of our senders.
OPTED_OUT_SOURCE = opted_out_source("twilio")


def twilio_status_apply(
    *, message_id: int, status: str, provider_id: str, error_code: str = ""
) -> Message | None:
    """Twilio's `status` (MessageStatus or CallStatus) of our message `message_id` whose Twilio id is
    `provider_id`. None when the brand has no such message, or its Twilio id is another one: nothing
    changed. Raises InvalidInput for a status Twilio does not send."""
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or (provider_id and message.provider_id and provider_id != message.provider_id):
            return None
        states = CALL_STATES if message.channel == Channel.VOICE else SMS_STATES
        if status not in states:
            raise InvalidInput({"status": [f"unknown status '{status}'"]})
        before = message.state
        error = CALL_RETRIED.get(status, "")
        if error_code:
            error = f"Twilio error {error_code}: see https://www.twilio.com/docs/api/errors/{error_code}"
        message = message_status_apply(
            message_id=message.pk,
            state=states[status],
            provider_id=provider_id,
            provider_status=status,
            error=error,
        )
        if message is not None and message.state != before and message.channel == Channel.VOICE:
            if status in CALL_RETRIED:
                call_retry_queue(message=message)
    return message


def call_retry_queue(*, message: Message) -> Message | None:
    """The next try of a call not answered: `VOICE_RETRY_DELAY_HOURS` from now, unless the first call
    was retried `VOICE_RETRIES` times already. None when it was."""
    first = message.retry_of or message
    retries = Message.objects.filter(retry_of=first).count()
    if retries >= settings.VOICE_RETRIES:
        return None
    return message_retry_queue(
        message=message,
        first=first,
        not_before=timezone.now() + timedelta(hours=settings.VOICE_RETRY_DELAY_HOURS),
        dedupe_key=f"call-retry:{first.pk}:{retries + 1}",
    )


def _reply_words(body: str) -> str:
    """A reply compared without case, accents, punctuation or extra spaces."""
    letters = "".join(char for char in unicodedata.normalize("NFKD", body) if not unicodedata.combining(char))
    return " ".join(re.sub(r"[\W_]+", " ", letters.casefold()).split())


def reply_opts_out(body: str) -> bool:
    """True when an SMS reply says stop (`OPT_OUT_REPLIES`): "STOP", " Arrêt. ", "stop-sms"..."""
    return _reply_words(body) in OPT_OUT_REPLIES


def sms_reply_apply(*, sender: str, body: str, opt_out_type: str = "", at: datetime | None = None) -> int:
    """An SMS the brand received from `sender`: a stop reply, or one Twilio's own opt-out handling
    names so (`opt_out_type` "STOP", from a Messaging Service's keywords), opts the members with that
    phone out of SMS (a consent change each, source `STOP_SOURCE`); a start reply (`OPT_IN_REPLIES`,
    or `opt_out_type` "START") gives SMS back to those a stop opted out (source `START_SOURCE`). How
    many members it changed."""
    if not sender:
        return 0
    members = Member.objects.filter(phone=sender).exclude(status=Member.Status.ANONYMISED)
    if opt_out_type.upper() == "STOP" or reply_opts_out(body):
        granted, source = False, STOP_SOURCE
    elif opt_out_type.upper() == "START" or _reply_words(body) in OPT_IN_REPLIES:
        granted, source = True, START_SOURCE
        stopped = {"consents__source__in": [STOP_SOURCE, OPTED_OUT_SOURCE], "consents__granted": False}
        members = members.filter(consents__channel="sms", **stopped)
    else:
        return 0
    changed = 0
    with transaction.atomic():
        for member in members.select_for_update():
            consent_set(member=member, consents={"sms": granted}, source=source, at=at)
            changed += 1
    if changed:
        logger.info("SMS %s from a member's phone: %s member(s)", source, changed)
    return changed
