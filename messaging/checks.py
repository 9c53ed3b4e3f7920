"""The rules the platform enforces on every message, whatever the campaign or trigger says.

Each check looks at one message about to be queued or sent and answers nothing (go on), a reason
to skip it, or a time to wait for. They run when a message is queued (a skipped message is a row
with its reason, shown in a campaign's progress) and again when it is sent (consent may have been
withdrawn, or the quiet hours begun, while it waited). Other modules add theirs with
`check_register` (quiet hours, caps, rate limits: `messaging.policy`).

Consent: a member who said no on a channel (a STOP, an unsubscribe, a bounce) receives nothing on
it; a marketing message also needs a yes. A service message (an order shipped, a payment failed)
goes where the member has not said no.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from loyalty.models import Consent, Member

from .models import Channel, ChannelSettings, Message, Purpose


@dataclass(frozen=True)
class Verdict:
    skip: str = ""  # a reason code (`SKIP_REASONS`)
    wait_until: datetime | None = None


@dataclass(frozen=True)
class CheckInput:
    message: Message
    member: Member
    channel_settings: ChannelSettings
    now: datetime
    # True when the message is about to leave (the task); False when it is being queued.
    sending: bool
    # The member's consents by channel, read beforehand for many members at once (a campaign's
    # chunk); None: `consent_given` reads them.
    consents: Mapping[str, bool] | None = None


Check = Callable[[CheckInput], Verdict | None]

SKIP_REASONS = {
    "member_blocked": "the member is blocked",
    "member_anonymised": "the member is anonymised",
    "no_consent": "the member has not consented to this channel",
    "opted_out": "the member opted out of this channel",
    "no_email": "the member has no e-mail address",
    "no_phone": "the member has no phone number",
    "no_address": "the member has no postal address",
    "frequency_cap": "the member had the most messages allowed on this channel lately",
    "no_sending_hours": "the channel's sending hours never open",
}

_CHECKS: list[Check] = []
# Checks that spend something (a provider account's rate budget): run only when every other check
# let the message go, so a message held or skipped spends nothing.
_GATES: list[Check] = []


def check_register(check: Check) -> Check:
    _CHECKS.append(check)
    return check


def check_register_gate(check: Check) -> Check:
    _GATES.append(check)
    return check


def checks_run(subject: CheckInput) -> Verdict | None:
    """The first check's answer that is not "go on"; a skip wins over a wait; the gates last."""
    waits: list[Verdict] = []
    for check in _CHECKS:
        verdict = check(subject)
        if verdict is None:
            continue
        if verdict.skip:
            return verdict
        waits.append(verdict)
    if waits:
        return max(waits, key=lambda verdict: verdict.wait_until or subject.now)
    for gate in _GATES:
        verdict = gate(subject)
        if verdict is not None:
            return verdict
    return None


@check_register
def member_standing(subject: CheckInput) -> Verdict | None:
    if subject.member.status == Member.Status.BLOCKED:
        return Verdict(skip="member_blocked")
    if subject.member.status == Member.Status.ANONYMISED:
        return Verdict(skip="member_anonymised")
    return None


_NO_RECIPIENT = {
    Channel.EMAIL: "no_email",
    Channel.SMS: "no_phone",
    Channel.VOICE: "no_phone",
    Channel.POST: "no_address",
}


@check_register
def recipient_known(subject: CheckInput) -> Verdict | None:
    if not subject.message.recipient.strip():
        return Verdict(skip=_NO_RECIPIENT[Channel(subject.message.channel)])
    return None


@check_register
def consent_given(subject: CheckInput) -> Verdict | None:
    if subject.consents is not None:
        granted = subject.consents.get(subject.message.channel)
    else:
        granted = (
            Consent.objects.filter(member_id=subject.member.pk, channel=subject.message.channel)
            .values_list("granted", flat=True)
            .first()
        )
    if granted is False:
        return Verdict(skip="opted_out")
    if granted is None and subject.message.purpose == Purpose.MARKETING:
        return Verdict(skip="no_consent")
    return None
