"""A message's life: built and checked (`message_build`), stored and queued (`message_queue`), sent
once (`message_send`), settled by its provider's word (`message_status_apply`), or marked `unknown`
when a crash left it `sending` (`messages_sending_expire`).

Sending is three steps, so that a worker killed at any point neither sends twice nor loses a message
silently: (1) under the row's lock, the checks run again and the row moves `queued` → `sending`,
committed; (2) the provider is called, outside any transaction; (3) the row moves to `sent` (or
`failed`) only if it is still `sending` or `unknown` (a fast callback may have settled it already).
A row left in `sending` by a crash between (1) and (3) is never claimed again: after
`SENDING_TIMEOUT` it is marked `unknown` for staff, and the provider's callback, which carries our
message id, settles it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput, NotFound
from core.outbox import enqueue_on_commit, requeue_at_for, retry_delay
from loyalty.models import Member
from loyalty.services.members import consent_set
from messaging.checks import CheckInput, Verdict, checks_run
from messaging.email_html import message_email_html
from messaging.models import STATE_RANK, Channel, ChannelSettings, Message, MessageTemplate
from messaging.providers.base import Outgoing, ProviderError, Sent, provider_for
from messaging.rendering import TemplateRefused, template_render, template_variables
from messaging.selectors.templates import channel_settings_get, template_pick
from messaging.selectors.variables import message_variables, site_url
from messaging.services.send_statements import message_claim_read, message_mark_sending, message_mark_sent
from messaging.services.unsubscribe import unsubscribe_headers, unsubscribe_url
from messaging.signals import message_settled_send
from messaging.sms_encoding import sms_fold
from tenants.selectors import schema_current

logger = logging.getLogger(__name__)

# A message still `sending` this long after it left for its provider was cut off by a crash.
SENDING_TIMEOUT = timedelta(minutes=5)


def member_recipient(*, member: Member, channel: str) -> str:
    """Where `channel` reaches `member`: an e-mail address, a phone number, or the postal address's
    lines (empty when the member has none)."""
    if channel == Channel.EMAIL:
        return member.email
    if channel in (Channel.SMS, Channel.VOICE):
        return member.phone
    if not (member.address_line1 and member.postal_code and member.city):
        return ""
    lines = [
        member.company_name,
        f"{member.first_name} {member.last_name}".strip(),
        member.address_line1,
        member.address_line2,
        f"{member.postal_code} {member.city}",
    ]
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def template_fill(*, template: MessageTemplate, variables: Mapping[str, object]) -> Rendered:
    """The template's subject and body over `variables` (the e-mail's HTML part is built by the
    e-mail channel from the body and the brand's theme)."""
    try:
        return Rendered(
            subject=template_render(template.subject, variables) if template.subject else "",
            body=template_render(template.body, variables),
        )
    except TemplateRefused as error:
        raise InvalidInput({"template": error.errors}) from error


def message_build(
    *,
    member: Member,
    channel: str,
    template_code: str,
    variables: Mapping[str, object] | None = None,
    trigger: str = "",
    dedupe_key: str | None = None,
    channel_settings: ChannelSettings | None = None,
    now: datetime | None = None,
    template: MessageTemplate | None = None,
    consents: Mapping[str, bool] | None = None,
) -> Message:
    """The message (not saved) of template `template_code` on `channel` for `member`, rendered in
    the member's language, with its recipient, and already `skipped` with a reason if a check
    refuses it. Raises NotFound when the brand has no such template. A caller building many
    (a campaign's chunk) gives what it read once for all of them: the `template` `template_pick`
    gives for the member's language, and the member's `consents` by channel."""
    template = template or template_pick(code=template_code, channel=channel, language=member.language)
    if template is None:
        raise NotFound(f"no {channel} template '{template_code}'", field="template")
    names = template_variables(template.subject) | template_variables(template.body)
    if channel == Channel.EMAIL:  # the e-mail's own link (README, "Messaging > E-mail")
        variables = {
            **(variables or {}),
            "unsubscribe_url": unsubscribe_url(member_id=member.pk, channel=channel),
        }
    rendered = template_fill(
        template=template, variables=message_variables(member=member, names=names, extra=variables)
    )
    message = Message(
        member=member,
        channel=channel,
        purpose=template.purpose,
        template=template,
        template_code=template.code,
        language=template.language,
        recipient=member_recipient(member=member, channel=channel),
        subject=rendered.subject,
        body=sms_fold(rendered.body) if channel == Channel.SMS else rendered.body,
        trigger=trigger,
        dedupe_key=dedupe_key,
    )
    now = now or timezone.now()
    verdict = checks_run(
        CheckInput(
            message=message,
            member=member,
            channel_settings=channel_settings or channel_settings_get(),
            now=now,
            sending=False,
            consents=consents,
        )
    )
    if _verdict_apply(message=message, verdict=verdict, now=now):
        if channel == Channel.EMAIL:  # built once, stored, and sent as stored
            message.html = message_email_html(
                member_id=member.pk, subject=message.subject, body=message.body, language=message.language
            )
    return message


def _verdict_apply(
    *, message: Message, verdict: Verdict | None, now: datetime, not_before: datetime | None = None
) -> bool:
    """What the checks said of a message about to be stored: `skipped` with its reason (False), or
    queued, held until the checks' wait or `not_before` if later, and queued by the outbox sweeper
    at its `requeue_at` if no send of it is (`requeue_at_for`) (True)."""
    if verdict and verdict.skip:
        message.state, message.skip_reason = Message.State.SKIPPED, verdict.skip
        return False
    waits = [at for at in (verdict.wait_until if verdict else None, not_before) if at is not None]
    message.not_before = max(waits) if waits else None
    # Against the clock, not `now` (a retry's checks run as of its own later time).
    message.requeue_at = requeue_at_for(at=max(now, message.not_before or now))
    return True


def message_queue(
    *,
    member: Member,
    channel: str,
    template_code: str,
    variables: Mapping[str, object] | None = None,
    trigger: str = "",
    dedupe_key: str | None = None,
) -> Message:
    """Store one message and queue its send after commit (at once, or at the end of the quiet
    hours). A `dedupe_key` already used gives back the message stored with it: a trigger fired
    twice sends once."""
    from messaging.tasks import message_send_task  # the task module imports this one

    with transaction.atomic():
        if dedupe_key:
            existing = Message.objects.filter(dedupe_key=dedupe_key).first()
            if existing is not None:
                return existing
        message = message_build(
            member=member,
            channel=channel,
            template_code=template_code,
            variables=variables,
            trigger=trigger,
            dedupe_key=dedupe_key,
        )
        message.save()
        if message.state == Message.State.QUEUED and message.not_before is None:
            enqueue_on_commit(message_send_task, message.pk, 0)
    return message


def message_retry_queue(
    *, message: Message, first: Message, not_before: datetime, dedupe_key: str
) -> Message:
    """A message again (a call not answered): the same text to the member's current recipient, a row
    of its own whose `retry_of` is the `first` message, checked again (the checks may skip it or
    hold it past `not_before`) and sent by the outbox sweeper when due, so the wait survives
    restarts. The message already stored with `dedupe_key` if there is one: one retry per key."""
    with transaction.atomic():
        existing = Message.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
        retry = Message(
            member=message.member,
            channel=message.channel,
            purpose=message.purpose,
            template_id=message.template_id,
            template_code=message.template_code,
            language=message.language,
            recipient=member_recipient(member=message.member, channel=message.channel),
            subject=message.subject,
            body=message.body,
            html=message.html,
            trigger=message.trigger,
            dedupe_key=dedupe_key,
            retry_of=first,
        )
        verdict = checks_run(
            CheckInput(
                message=retry,
                member=message.member,
                channel_settings=channel_settings_get(),
                now=not_before,
                sending=False,
            )
        )
        _verdict_apply(message=retry, verdict=verdict, now=not_before, not_before=not_before)
        retry.save()
    return retry


def _outgoing(message: Message) -> Outgoing:
    return Outgoing(
        message_id=message.pk,
        schema_name=schema_current(),
        channel=message.channel,
        purpose=message.purpose,
        language=message.language,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        html=message.html,
        site_url=site_url(),
        headers=(
            unsubscribe_headers(member_id=message.member_id, channel=message.channel)
            if message.channel == Channel.EMAIL
            else {}
        ),
    )


@dataclass(frozen=True)
class SendResult:
    message: Message
    # When the task should try again (a wait, or a retry after a failure that sent nothing).
    retry_at: datetime | None = None


def _claim(
    *, message_id: int, attempts: int, now: datetime, channel_settings: ChannelSettings
) -> SendResult | None:
    """Step 1: the message moved to `sending` (committed), or what stops it; None: nothing to do
    (another copy of the task has it, it left already, or it is not this attempt's)."""
    with transaction.atomic():
        # One statement reads what the checks need: the member, the campaign, the consent.
        claimed = message_claim_read(message_id=message_id)
        if claimed is None:
            return None
        message, granted = claimed
        if message.state != Message.State.QUEUED or message.attempts != attempts:
            return None
        verdict = checks_run(
            CheckInput(
                message=message,
                member=message.member,
                channel_settings=channel_settings,
                now=now,
                sending=True,
                consents={} if granted is None else {message.channel: granted},
            )
        )
        if verdict and verdict.skip:
            message.state, message.skip_reason, message.requeue_at = Message.State.SKIPPED, verdict.skip, None
            message.save(update_fields=["state", "skip_reason", "requeue_at", "updated_at"])
            return SendResult(message=message)
        if verdict and verdict.wait_until and verdict.wait_until > now:
            message.not_before = verdict.wait_until
            message.requeue_at = requeue_at_for(at=verdict.wait_until, now=now)
            message.save(update_fields=["not_before", "requeue_at", "updated_at"])
            return SendResult(message=message, retry_at=verdict.wait_until)
        message_mark_sending(message=message, now=now)
    return SendResult(message=message)


def message_send(
    *, message_id: int, attempts: int, channel_settings: ChannelSettings | None = None
) -> SendResult | None:
    """Send one queued message once (module docstring: the three steps). None when there was
    nothing to do; otherwise the message as it ended, and when to try again if it should be. A
    caller sending many (a batch of a campaign) gives the `channel_settings` it read once."""
    now = timezone.now()
    channel_settings = channel_settings or channel_settings_get()
    claimed = _claim(message_id=message_id, attempts=attempts, now=now, channel_settings=channel_settings)
    if claimed is None or claimed.message.state != Message.State.SENDING:
        return claimed
    message = claimed.message
    try:
        provider = provider_for(channel=message.channel, channel_settings=channel_settings)
        outgoing = _outgoing(message)
    except Exception as failure:  # nothing has left: whatever the error, the message waits
        logger.exception("message %s: its send could not be prepared", message.pk)
        unprepared = ProviderError(f"the send could not be prepared: {failure}", retry=True)
        return SendResult(message=_settle(message=message, provider="", sent=None, error=unprepared))
    error: ProviderError | None = None
    try:
        sent: Sent | None = provider.send(outgoing)
    except ProviderError as failure:
        sent, error = None, failure
    return SendResult(message=_settle(message=message, provider=provider.name, sent=sent, error=error))


# What the settle step reads: what it writes, and what the settled signal says.
SETTLE_READ = ("member", "channel", "template_code", "attempts", "updated_at")

SETTLED_FIELDS = (
    "provider",
    "provider_id",
    "state",
    "error",
    "sent_at",
    "delivered_at",
    "failed_at",
    "not_before",
    "requeue_at",
)


def opted_out_source(provider: str) -> str:
    """The source of a consent withdrawn because `provider` said the recipient opted out with it."""
    return f"{provider}: the recipient opted out"


def _settle(*, message: Message, provider: str, sent: Sent | None, error: ProviderError | None) -> Message:
    """Step 3: what the provider answered, written only while the message is `sending` or `unknown`
    (a callback that came first, with a later state, stands)."""
    now = timezone.now()
    if sent is not None and message_mark_sent(
        message=message, provider=sent.provider, provider_id=sent.provider_id, state=sent.state, now=now
    ):
        message_settled_send(message=message)
        return message
    with transaction.atomic():
        row = Message.objects.select_for_update().only(*SETTLE_READ, *SETTLED_FIELDS).get(pk=message.pk)
        row.provider = sent.provider if sent is not None else provider
        if sent is not None and not row.provider_id:
            row.provider_id = sent.provider_id
        if row.state in (Message.State.SENDING, Message.State.UNKNOWN):
            if sent is not None:
                row.state, row.sent_at, row.error = sent.state, now, ""
                if sent.state == Message.State.DELIVERED:
                    row.delivered_at = now
            elif error is not None and error.maybe_sent:
                row.state, row.error = Message.State.UNKNOWN, str(error)[:2000]
            elif error is not None and error.retry and retry_delay(attempts=row.attempts) is not None:
                delay = retry_delay(attempts=row.attempts) or timedelta(0)
                row.state, row.error = Message.State.QUEUED, str(error)[:2000]
                row.not_before = now + delay
                row.requeue_at = requeue_at_for(at=now + delay, now=now)
            else:
                row.state, row.failed_at = Message.State.FAILED, now
                row.error = str(error)[:2000] if error else ""
                if error is not None and error.opted_out:
                    member = Member.objects.select_for_update().get(pk=row.member_id)
                    source = opted_out_source(provider)
                    consent_set(member=member, consents={row.channel: False}, source=source)
            message_settled_send(message=row)
        # Not the rendered body and HTML again: only what a send changes.
        row.save(update_fields=[*SETTLED_FIELDS, "updated_at"])
    if error is not None:
        logger.warning("message %s via %s: %s", row.pk, provider, error)
    return row


def message_status_apply(
    *, message_id: int, state: str, provider_id: str = "", provider_status: str = "", error: str = ""
) -> Message | None:
    """A provider's word on a message (a status callback): the state moves only forward, so a
    duplicate or a late callback changes nothing. None when the brand has no such message."""
    if state not in STATE_RANK:
        raise InvalidInput({"state": [f"unknown state '{state}'"]})
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return None
        if provider_id and message.provider_id and provider_id != message.provider_id:
            logger.warning(
                "message %s: status for %s, not its %s", message_id, provider_id, message.provider_id
            )
            return message
        fields = ["updated_at"]
        if provider_id and not message.provider_id:
            message.provider_id = provider_id
            fields.append("provider_id")
        if STATE_RANK[Message.State(state)] > STATE_RANK[Message.State(message.state)]:
            message.state, message.provider_status = state, provider_status
            fields += ["state", "provider_status"]
            stamp = {
                Message.State.SENT: "sent_at",
                Message.State.DELIVERED: "delivered_at",
                Message.State.FAILED: "failed_at",
            }
            if state in stamp:
                setattr(message, stamp[Message.State(state)], now)
                fields.append(stamp[Message.State(state)])
            if error:
                message.error = error[:2000]
                fields.append("error")
        message.save(update_fields=fields)
        if "state" in fields:
            message_settled_send(message=message)
    return message


def messages_sending_expire(*, now: datetime | None = None) -> int:
    """Mark `unknown` the messages a crash left `sending` for longer than `SENDING_TIMEOUT`: never
    sent again; staff see them, and the provider's callback settles them. How many were marked."""
    now = now or timezone.now()
    return Message.objects.filter(state=Message.State.SENDING, sending_at__lt=now - SENDING_TIMEOUT).update(
        state=Message.State.UNKNOWN, error="the send was cut off: check with the provider", updated_at=now
    )
