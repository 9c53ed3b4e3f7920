"""Triggers: the messages a brand switches on (README, "Messaging > Triggers"), fired by the loyalty
and catalogue signals (connected when `messaging.apps` is ready), by the hourly beat run for the
time-based kinds, and by other services through `trigger_fire` (the VIP issue: `vip_welcome`,
`payment_failed`).

Firing one is `message_queue` with a dedupe key per cause and channel (`<kind>:<cause>:<channel>`:
the ledger entry, the tier change, the order event, the member, the activation code, the member and
expiry day), so a trigger fired twice (a signal replayed, the beat run twice) sends once.

The active triggers are cached per process and brand, per programme revision (a change of the
triggers moves it, see migration 0006): a receiver of an event's points reads the revision the
recording just checked (no query), the others read it (one small query), and nothing else is
queried when no trigger of the kind is on. A receiver never raises into the committed change that
sent its signal: each message is stored in a transaction of its own and a failure is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone, translation

from catalog.signals import order_status_changed
from core.errors import DomainError, InvalidInput
from core.formats import date_format, number_format
from loyalty.models import ActivationCode, Member, PointLot
from loyalty.models import TierChange as TierChangeRow
from loyalty.services.events.programme import programme_revision, programme_revision_cached
from loyalty.signals import (
    MemberChange,
    PointsChange,
    TierChange,
    members_changed,
    points_changed,
    tiers_changed,
)
from messaging.models import Message, MessageTemplate, Trigger, TriggerKind
from messaging.models.triggers import DAYS_MAX, KINDS_WITH_DAYS, TRIGGER_CHANNELS
from messaging.services.sending import message_queue
from tenants.selectors import brand_timezone, schema_current

logger = logging.getLogger(__name__)

TRIGGER_FIELDS = ("kind", "channel", "template_code", "is_active", "days")


@dataclass(frozen=True)
class ActiveTrigger:
    kind: str
    channel: str
    template_code: str
    days: int | None


# Per schema: (programme revision, the active triggers by kind).
_ACTIVE: dict[str, tuple[tuple, dict[str, tuple[ActiveTrigger, ...]]]] = {}


def triggers_active(*, revision: tuple | None = None) -> dict[str, tuple[ActiveTrigger, ...]]:
    """The brand's active triggers by kind, read once per programme revision. `revision`: the one
    the caller knows is current (recording an event checked it); read otherwise."""
    if revision is None:
        revision = programme_revision()
    schema = schema_current()
    cached = _ACTIVE.get(schema)
    if cached is not None and revision is not None and cached[0] == revision:
        return cached[1]
    # The revision is read before the triggers: a change committed in between is read next time.
    active: dict[str, list[ActiveTrigger]] = {}
    for row in Trigger.objects.filter(is_active=True).order_by("kind", "channel"):
        active.setdefault(row.kind, []).append(
            ActiveTrigger(kind=row.kind, channel=row.channel, template_code=row.template_code, days=row.days)
        )
    by_kind = {kind: tuple(rows) for kind, rows in active.items()}
    if revision is not None:
        _ACTIVE[schema] = (revision, by_kind)
    return by_kind


# --- the brand's settings ------------------------------------------------------------------------


def trigger_validate(*, data: Mapping[str, Any], trigger: Trigger | None = None) -> Trigger:
    """`trigger` (or a new one) with `data` applied and checked, not saved: a known kind, a channel
    triggers send on, a template of that code on that channel, `days` where the kind needs it."""
    unknown = sorted(set(data) - set(TRIGGER_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a trigger field"] for field in unknown})
    trigger = trigger or Trigger()
    for field, value in data.items():
        setattr(trigger, field, value)
    errors: dict[str, list[str]] = {}
    if trigger.kind not in TriggerKind.values:
        errors["kind"] = [f"must be one of {', '.join(TriggerKind.values)}"]
    if trigger.channel not in TRIGGER_CHANNELS:
        errors["channel"] = [f"must be one of {', '.join(TRIGGER_CHANNELS)}"]
    code = trigger.template_code
    if not isinstance(code, str) or not code.strip():
        errors["template_code"] = ["is required: the code of a message template"]
    elif (
        "channel" not in errors
        and not MessageTemplate.objects.filter(code=code, channel=trigger.channel).exists()
    ):
        errors["template_code"] = [f"no {trigger.channel} template has the code '{code}'"]
    if not isinstance(trigger.is_active, bool):
        errors["is_active"] = ["must be true or false"]
    days = trigger.days
    if trigger.kind in KINDS_WITH_DAYS:
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= DAYS_MAX:
            errors["days"] = [f"is required for this kind: a number of days from 1 to {DAYS_MAX}"]
    elif days is not None:
        errors["days"] = ["only points_expiring and activation_reminder take a number of days"]
    if "kind" not in errors and "channel" not in errors:
        clash = Trigger.objects.filter(kind=trigger.kind, channel=trigger.channel).exclude(pk=trigger.pk)
        if clash.exists():
            errors["channel"] = ["this kind already has a trigger on this channel"]
    if errors:
        raise InvalidInput(errors)
    return trigger


def trigger_save(*, data: Mapping[str, Any], trigger: Trigger | None = None) -> Trigger:
    """Create or change a trigger (checked by `trigger_validate`)."""
    with transaction.atomic():
        if trigger is not None:
            trigger = Trigger.objects.select_for_update().get(pk=trigger.pk)
        trigger = trigger_validate(data=data, trigger=trigger)
        trigger.save()
    return trigger


def trigger_put(*, kind: str, channel: str, data: Mapping[str, Any]) -> tuple[Trigger, bool]:
    """The trigger of `kind` on `channel` set to `data` (created if the brand has none): (trigger,
    created)."""
    with transaction.atomic():
        existing = Trigger.objects.select_for_update().filter(kind=kind, channel=channel).first()
        trigger = trigger_validate(data={**data, "kind": kind, "channel": channel}, trigger=existing)
        trigger.save()
    return trigger, existing is None


# --- firing --------------------------------------------------------------------------------------


def _dedupe_key(trigger: ActiveTrigger, cause: str) -> str:
    return f"{trigger.kind}:{cause}:{trigger.channel}"


def _queue(
    *, member: Member, trigger: ActiveTrigger, cause: str, variables: Mapping[str, object] | None = None
) -> Message | None:
    """One message of `trigger` to `member`, once per `cause`; a failure is logged, not raised."""
    dedupe_key = _dedupe_key(trigger, cause)
    try:
        return message_queue(
            member=member,
            channel=trigger.channel,
            template_code=trigger.template_code,
            variables=variables,
            trigger=trigger.kind,
            dedupe_key=dedupe_key,
        )
    except IntegrityError:
        # The same key stored meanwhile by a concurrent firing: that one is the message.
        return Message.objects.filter(dedupe_key=dedupe_key).first()
    except DomainError as error:  # the template was deleted since the trigger was switched on...
        logger.warning("trigger %s for member %s not queued: %s", dedupe_key, member.pk, error)
    except Exception:
        logger.exception("trigger %s for member %s not queued", dedupe_key, member.pk)
    return None


def trigger_fire(
    *, kind: str, member: Member, variables: Mapping[str, object] | None = None, dedupe_key: str
) -> list[Message]:
    """Queue the message of every active trigger of `kind` for `member` (one per channel), once per
    `dedupe_key` (the cause, such as the subscription payment's id). Nothing when none is on."""
    if kind not in TriggerKind.values:
        raise InvalidInput(f"no trigger kind '{kind}'", field="kind")
    sent = [
        _queue(member=member, trigger=trigger, cause=dedupe_key, variables=variables)
        for trigger in triggers_active().get(kind, ())
    ]
    return [message for message in sent if message is not None]


def _members(ids: set[int]) -> dict[int, Member]:
    return Member.objects.select_related("tier").in_bulk(ids)


def points_earned_fire(*, changes: list[PointsChange], triggers: tuple[ActiveTrigger, ...]) -> list[Message]:
    """One message per member that earned (what a batch gave them, summed) and trigger, keyed by
    the member's first ledger entry of the list."""
    per_member: dict[int, list[PointsChange]] = {}
    for change in changes:
        per_member.setdefault(change.member_id, []).append(change)
    members = _members(set(per_member))
    sent = []
    for member_id, earned in per_member.items():
        member = members.get(member_id)
        if member is None:
            continue
        with translation.override(member.language):
            variables = {
                "points_earned": number_format(sum(change.points for change in earned)),
                "balance": number_format(earned[-1].balance_after),
            }
        cause = str(min(change.ledger_entry_id for change in earned))
        sent += [_queue(member=member, trigger=t, cause=cause, variables=variables) for t in triggers]
    return [message for message in sent if message is not None]


def points_received(sender: Any, changes: list[PointsChange], **kwargs: Any) -> None:
    earned = [change for change in changes if change.kind == "earned"]
    if not earned:
        return
    # Points an event earned: recording checked the programme's revision in that very transaction.
    revision = programme_revision_cached() if all(c.event_id is not None for c in earned) else None
    triggers = triggers_active(revision=revision).get(TriggerKind.POINTS_EARNED)
    if triggers:
        points_earned_fire(changes=earned, triggers=triggers)


def tiers_received(sender: Any, changes: list[TierChange], **kwargs: Any) -> None:
    triggers = triggers_active().get(TriggerKind.TIER_CHANGED)
    if not triggers:
        return
    members = _members({change.member_id for change in changes})
    for change in changes:
        member = members.get(change.member_id)
        row = (
            TierChangeRow.objects.filter(member_id=change.member_id, to_tier_id=change.to_tier_id)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        if member is not None and row is not None:
            for trigger in triggers:
                _queue(member=member, trigger=trigger, cause=str(row))


def members_received(sender: Any, changes: list[MemberChange], **kwargs: Any) -> None:
    created = {change.member_id for change in changes if change.created}
    if not created:
        return
    triggers = triggers_active().get(TriggerKind.WELCOME)
    if not triggers:
        return
    for member in _members(created).values():
        for trigger in triggers:
            _queue(member=member, trigger=trigger, cause=str(member.pk))


def order_variables(*, order_id: int, to_status: str) -> tuple[Member, dict[str, object]] | None:
    """The order's member, and its variables (gift, order number, status in the member's words)."""
    from catalog.models import Order

    order = Order.objects.select_related("member__tier").prefetch_related("lines").filter(pk=order_id).first()
    if order is None:
        return None
    member = order.member
    with translation.override(member.language):
        gifts = [
            line.gift_name if line.quantity == 1 else f"{number_format(line.quantity)} x {line.gift_name}"
            for line in order.lines.all()
        ]
        status = str(Order.Status(to_status).label) if to_status in Order.Status.values else to_status
    return member, {"gift": ", ".join(gifts), "order_number": str(order.pk), "order_status": status}


def order_received(sender: Any, order_id: int, event_id: int, to_status: str, **kwargs: Any) -> None:
    triggers = triggers_active().get(TriggerKind.ORDER_STATUS_CHANGED)
    if not triggers:
        return
    found = order_variables(order_id=order_id, to_status=to_status)
    if found is None:
        return
    member, variables = found
    for trigger in triggers:
        _queue(member=member, trigger=trigger, cause=str(event_id), variables=variables)


# What `receivers_connect` connects (`MessagingConfig.ready`): (signal, dispatch uid, receiver).
RECEIVERS = [
    (points_changed, "triggers-points", points_received),
    (tiers_changed, "triggers-tiers", tiers_received),
    (members_changed, "triggers-members", members_received),
    (order_status_changed, "triggers-orders", order_received),
]


def receivers_connect() -> None:
    """Connect the receivers (once: the dispatch uids keep a second call from doubling them)."""
    for signal, dispatch_uid, function in RECEIVERS:
        signal.connect(function, weak=False, dispatch_uid=dispatch_uid)


# --- time-based: run by the beat, in each brand --------------------------------------------------


def _not_sent(trigger: ActiveTrigger, causes: dict[int, str]) -> dict[int, str]:
    """The `causes` (by member or code) that `trigger` has no message for yet (one query): a run
    again sends nothing, and says so."""
    keys = {_dedupe_key(trigger, cause): pk for pk, cause in causes.items()}
    sent = set(Message.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))
    return {pk: causes[pk] for key, pk in keys.items() if key not in sent}


def points_expiring_fire(*, trigger: ActiveTrigger, now: datetime) -> list[Message]:
    """The members whose points expire on the brand's day `trigger.days` from today: one message
    each, keyed by member and that day (so at most one a day, and one per day of expiry)."""
    assert trigger.days is not None
    tz = brand_timezone()
    day = now.astimezone(tz).date() + timedelta(days=trigger.days)
    start = datetime.combine(day, time.min, tzinfo=tz)
    due = (
        PointLot.objects.filter(
            remaining__gt=0,
            expires_at__gte=start,
            expires_at__lt=start + timedelta(days=1),
            member__status=Member.Status.ACTIVE,
        )
        .values("member_id")
        .annotate(points=Sum("remaining"))
        .order_by("member_id")
    )
    points = {row["member_id"]: row["points"] for row in due}
    causes = _not_sent(trigger, {member_id: f"{member_id}:{day.isoformat()}" for member_id in points})
    sent = []
    for member_id, member in _members(set(causes)).items():
        with translation.override(member.language):
            variables = {"points_expiring": number_format(points[member_id]), "expiry_date": date_format(day)}
        sent.append(_queue(member=member, trigger=trigger, cause=causes[member_id], variables=variables))
    return [message for message in sent if message is not None]


def activation_reminders_fire(*, trigger: ActiveTrigger, now: datetime) -> list[Message]:
    """A reminder for each activation code in force issued at least `trigger.days` ago and not
    used: once per code."""
    assert trigger.days is not None
    codes = {
        code.pk: code
        for code in ActivationCode.objects.filter(
            used_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
            issued_at__lte=now - timedelta(days=trigger.days),
            member__status=Member.Status.ACTIVE,
        ).select_related("member__tier")
    }
    causes = _not_sent(trigger, {pk: str(pk) for pk in codes})
    sent = [_queue(member=codes[pk].member, trigger=trigger, cause=cause) for pk, cause in causes.items()]
    return [message for message in sent if message is not None]


def triggers_due_fire(*, now: datetime | None = None) -> int:
    """The time-based triggers of the current brand (points expiring, activation reminders), as the
    hourly beat runs them; how many messages they queued (none for a cause already sent)."""
    now = now or timezone.now()
    active = triggers_active()
    queued = 0
    for trigger in active.get(TriggerKind.POINTS_EXPIRING, ()):
        queued += len(points_expiring_fire(trigger=trigger, now=now))
    for trigger in active.get(TriggerKind.ACTIVATION_REMINDER, ()):
        queued += len(activation_reminders_fire(trigger=trigger, now=now))
    return queued
