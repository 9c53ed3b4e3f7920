"""Rules the platform enforces on every message whatever the campaign or trigger says, registered as
checks (`messaging.checks`; imported by `MessagingConfig.ready`). Member standing, the recipient and
consent are checked there; here:

- **Sending hours** (`quiet_hours_kept`): a marketing message on a channel with sending hours (the
  brand's `ChannelSettings.quiet_hours`, else France's: `messaging.quiet_hours.MARKETING_HOURS`)
  waits for the next slot, read in the brand's timezone (members have none of their own) with
  France's public holidays. A call of any purpose rings only 08:00-21:00 (`CALL_HOURS`); a service
  SMS, e-mail or letter is never held. Windows that never open (a brand's calls at 22:00) skip the
  message (`no_sending_hours`).
- **Frequency caps** (`frequency_capped`, `CAPS`): no more than the brand's
  `marketing_calls_per_30_days` marketing calls in 30 days per member; a service call is neither
  capped nor counted (a payment failed must get through, and must not use up the member's
  marketing calls). Counted: the calls that left or may have (sending, sent, delivered, unknown) in
  the rolling window, by when they left. At send time the count is taken under a lock per member,
  so two calls leaving at once cannot both be the 4th.
- **Rate limits per provider account** (`provider_rate_kept`): at most the brand's
  `sends_per_second` sends per second on each channel of a provider account (a Twilio account sid;
  an e-mail provider with its credentials), 0 for none, shared by every worker of every brand using
  that account through one Redis counter per second (one round trip); over it, a message waits for
  the second it fits in. The development outbox and letters are not limited. Without Redis the
  message goes (logged), as the API's rate limit does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import holidays
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Q

from config.redis import cache_redis, redis_available, redis_failed
from messaging.checks import CheckInput, Verdict, check_register, check_register_gate
from messaging.models import Channel, ChannelSettings, Message, Purpose
from messaging.quiet_hours import CALL_HOURS, MARKETING_HOURS, Hours, HoursInvalid, hours_parse, slot_next
from tenants.selectors import brand_timezone, schema_current

logger = logging.getLogger(__name__)


@functools.cache
def public_holidays() -> holidays.HolidayBase:
    """France's public holidays (metropolitan), any year asked."""
    return holidays.country_holidays("FR")


@functools.lru_cache(maxsize=256)
def _custom_hours(serialised: str) -> dict[str, Hours]:
    """A brand's `quiet_hours` parsed once per process and value (a campaign's every message asks)."""
    return hours_parse(json.loads(serialised), channels=Channel.values)


def hours_for(*, channel: str, purpose: str, channel_settings: ChannelSettings) -> list[Hours]:
    """The sending hours a message on `channel` with `purpose` must fall in, every one of them."""
    found: list[Hours] = []
    if purpose == Purpose.MARKETING:
        try:
            custom = _custom_hours(json.dumps(channel_settings.quiet_hours or {}, sort_keys=True))
        except HoursInvalid as invalid:  # stored without its validation: the defaults meanwhile
            logger.warning("quiet_hours not read, France's defaults used: %s", invalid)
            custom = {}
        marketing = custom.get(channel, MARKETING_HOURS.get(channel))
        if marketing is not None:
            found.append(marketing)
    if channel == Channel.VOICE:
        found.append(CALL_HOURS)
    return found


@check_register
def quiet_hours_kept(subject: CheckInput) -> Verdict | None:
    message = subject.message
    hours = hours_for(
        channel=message.channel, purpose=message.purpose, channel_settings=subject.channel_settings
    )
    if not hours:
        return None
    slot = slot_next(at=subject.now, tz=brand_timezone(), hours=hours, holidays=public_holidays())
    if slot is None:
        return Verdict(skip="no_sending_hours")
    return Verdict(wait_until=slot) if slot > subject.now else None


@dataclass(frozen=True)
class Cap:
    """At most `ChannelSettings.<setting>` messages of `purpose` on `channel` per member in `days`."""

    channel: str
    purpose: str
    days: int
    setting: str


CAPS: tuple[Cap, ...] = (
    Cap(channel=Channel.VOICE, purpose=Purpose.MARKETING, days=30, setting="marketing_calls_per_30_days"),
)
# The messages a cap counts: those that left, or may have.
COUNTED_STATES = (Message.State.SENDING, Message.State.SENT, Message.State.DELIVERED, Message.State.UNKNOWN)


def messages_counted(*, member_id: int, cap: Cap, now: datetime) -> int:
    """The member's messages `cap` counts in its window up to `now`, by when they left."""
    since = now - timedelta(days=cap.days)
    left_since = Q(sending_at__gte=since) | Q(sending_at__isnull=True, created_at__gte=since)
    return Message.objects.filter(
        left_since, member_id=member_id, channel=cap.channel, purpose=cap.purpose, state__in=COUNTED_STATES
    ).count()


@check_register
def frequency_capped(subject: CheckInput) -> Verdict | None:
    message = subject.message
    for cap in CAPS:
        if (cap.channel, cap.purpose) != (message.channel, message.purpose):
            continue
        if subject.sending:  # until this message's claim commits: the next one counts it
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    [f"messaging-cap:{schema_current()}:{subject.member.pk}"],
                )
        limit = getattr(subject.channel_settings, cap.setting)
        if messages_counted(member_id=subject.member.pk, cap=cap, now=subject.now) >= limit:
            return Verdict(skip="frequency_cap")
    return None


def provider_account(*, channel: str, channel_settings: ChannelSettings) -> str | None:
    """Who a provider counts `channel`'s sends against (a digest: credentials never reach Redis);
    None for the development outbox and letters."""
    if channel in (Channel.SMS, Channel.VOICE):
        if not (channel_settings.twilio_account_sid and channel_settings.twilio_auth_token):
            return None
        # The token too: a brand typing another's account id alone spends nothing of its budget.
        identity = f"twilio:{channel_settings.twilio_account_sid}:{channel_settings.twilio_auth_token}"
    elif channel == Channel.EMAIL and channel_settings.email_provider:
        credentials = json.dumps(channel_settings.email_credentials, sort_keys=True)
        identity = f"email:{channel_settings.email_provider}:{credentials}"
    else:
        return None
    return f"{channel}:{hashlib.sha256(identity.encode()).hexdigest()[:32]}"


@check_register_gate
def provider_rate_kept(subject: CheckInput) -> Verdict | None:
    limit = subject.channel_settings.sends_per_second
    if not subject.sending or not limit:
        return None
    account = provider_account(channel=subject.message.channel, channel_settings=subject.channel_settings)
    if account is None or not redis_available():
        return None
    second = int(subject.now.timestamp())
    counter = f"{settings.CACHES['default']['KEY_PREFIX']}:send-rate:{account}:{second}"
    pipeline = cache_redis().pipeline(transaction=False)
    pipeline.incr(counter)
    pipeline.expire(counter, 10)
    try:
        count, _ = pipeline.execute()
    except redis.RedisError as error:
        redis_failed(what="messages are sent without their provider's rate limit", error=error)
        return None
    if count <= limit:
        return None
    # The 1st to limit-th go in this second; the next limit wait for the next one, and so on.
    return Verdict(wait_until=datetime.fromtimestamp(second + (count - 1) // limit, UTC))
