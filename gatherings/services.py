"""Writes of events with limited seats: the event itself, RSVPs and the waiting list, check-in,
invitations and reminders (messages through `messaging.triggers.trigger_fire`).

No overbooking: every write that can change who holds a seat (an RSVP, a cancellation, a capacity
change) first takes the gathering's row lock (`SELECT ... FOR UPDATE`), then counts the confirmed
RSVPs and writes; writers of one gathering therefore run one after the other, and a count is never
stale. **Lock order**: the gathering's row, then its RSVP rows; never a member's row (one may be
held already: an anonymisation cancels the member's answers under it). Check-in follows the same
order. The reminders lock RSVP rows only (`SKIP LOCKED`), never a gathering, so
they cannot close a cycle with the writers.

Lowering the capacity never cancels a confirmed RSVP: the seats above it stay taken until their
holders cancel, and new answers wait. Raising it, or a cancellation, promotes the waiting list in
order of arrival (`Rsvp.position`), each promoted member told once (`event_promoted`, keyed by the
RSVP). Cancelling the event tells its members once (`event_cancelled`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation

from clubs.selectors import space_may_enter
from core.errors import InvalidInput, NotFound, Refused
from core.formats import datetime_format
from gatherings.models import CAPACITY_MAX, Gathering, Rsvp
from gatherings.selectors import LIVE_STATES, gathering_visible_to
from loyalty.models import Member, Segment
from loyalty.selectors.segments import SegmentFilterError, segment_members
from messaging.models import TriggerKind
from messaging.selectors.variables import site_url
from messaging.triggers import trigger_fire, triggers_active

GATHERING_FIELDS = (
    "title",
    "kind",
    "description",
    "starts_at",
    "ends_at",
    "place",
    "capacity",
    "visibility",
    "segment",
    "space",
    "state",
)
# The field naming who sees an event, per visibility that needs one.
AUDIENCES = {"segment": Gathering.Visibility.SEGMENT, "space": Gathering.Visibility.SPACE}
AUDIENCE_WORDS = {"segment": "a segment", "space": "a club space"}
# How long before its start a confirmed member is reminded (the beat runs hourly).
REMINDER_AHEAD = timedelta(hours=24)
INVITATIONS_CHUNK = 500


# --- the event -----------------------------------------------------------------------------------


def gathering_validate(*, data: Mapping[str, Any], gathering: Gathering | None = None) -> Gathering:
    """`gathering` (or a new one) with `data` applied and checked, not saved: the one validation of
    the backoffice and the API. `data` holds typed values (aware datetimes, a `Segment`, a club
    `Space` or None); an `InvalidInput` names each field at fault."""
    unknown = sorted(set(data) - set(GATHERING_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a field of an event"] for field in unknown})
    gathering = gathering or Gathering()
    for name, value in data.items():
        if value is None and name in ("title", "description", "place"):
            value = ""
        setattr(gathering, name, value)
    errors: dict[str, list[str]] = {}
    try:
        gathering.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors = {name: list(texts) for name, texts in error.message_dict.items()}
    for name in ("starts_at", "ends_at"):
        value = getattr(gathering, name)
        if name not in errors and (not isinstance(value, datetime) or timezone.is_naive(value)):
            errors[name] = ["must be a date and time with its timezone"]
    if not errors.keys() & {"starts_at", "ends_at"} and gathering.ends_at <= gathering.starts_at:
        errors["ends_at"] = ["must be after the start"]
    capacity = gathering.capacity
    if "capacity" not in errors and not (isinstance(capacity, int) and 1 <= capacity <= CAPACITY_MAX):
        errors["capacity"] = [f"must be a number of seats from 1 to {CAPACITY_MAX}"]
    for name, audience in AUDIENCES.items():
        if name in errors or "visibility" in errors:
            continue
        given = getattr(gathering, f"{name}_id") is not None
        if gathering.visibility == audience and not given:
            errors[name] = [f"is required when the event is visible to {AUDIENCE_WORDS[name]}"]
        elif gathering.visibility != audience and given:
            errors[name] = [f"must be empty unless the event is visible to {AUDIENCE_WORDS[name]}"]
    if errors:
        raise InvalidInput(errors)
    return gathering


def gathering_create(*, data: Mapping[str, Any]) -> Gathering:
    with transaction.atomic():
        gathering = gathering_validate(data=data)
        gathering.save()
    return gathering


def gathering_update(*, gathering_id: int, data: Mapping[str, Any], now: datetime | None = None) -> Gathering:
    """Change a gathering under its lock. A raised capacity promotes the waiting list in order; a
    lowered one cancels nobody. Moving its start makes the reminder due again. Cancelling it tells
    each member who answered (confirmed or waitlisted) once (`event_cancelled`, keyed by the RSVP);
    their answers are kept as they were."""
    with transaction.atomic():
        gathering = _lock(gathering_id)
        was_cancelled, was_at = gathering.state == Gathering.State.CANCELLED, gathering.starts_at
        gathering = gathering_validate(data=data, gathering=gathering)
        gathering.save()
        if gathering.starts_at != was_at:  # moved: the reminder is due again the day before the new start
            Rsvp.objects.filter(gathering=gathering, reminded_at__isnull=False).update(reminded_at=None)
        _promote(gathering=gathering, now=now or timezone.now())
        if gathering.state == Gathering.State.CANCELLED and not was_cancelled:
            _tell_cancelled(gathering=gathering)
    return gathering


def _tell_cancelled(*, gathering: Gathering) -> int:
    """The `event_cancelled` message to each member with a live answer (the gathering locked by
    the caller): how many were queued."""
    rsvps = Rsvp.objects.filter(gathering=gathering, state__in=LIVE_STATES).select_related("member__tier")
    return sum(
        _tell(
            kind=TriggerKind.EVENT_CANCELLED,
            gathering=gathering,
            member=rsvp.member,
            cause=f"cancel:{rsvp.pk}",
        )
        for rsvp in rsvps.order_by("pk")
    )


def _lock(gathering_id: int) -> Gathering:
    gathering = Gathering.objects.select_for_update().filter(pk=gathering_id).first()
    if gathering is None:
        raise NotFound(f"no event {gathering_id}", field="gathering")
    return gathering


def _confirmed_count(gathering: Gathering) -> int:
    return Rsvp.objects.filter(gathering=gathering, state=Rsvp.State.CONFIRMED).count()


def _promote(*, gathering: Gathering, now: datetime) -> list[Rsvp]:
    """Confirm the first of the waiting list while seats are free (the gathering locked by the
    caller), each promoted member told once. Nothing for an event not published or already begun."""
    if gathering.state != Gathering.State.PUBLISHED or gathering.starts_at <= now:
        return []
    free = gathering.capacity - _confirmed_count(gathering)
    if free <= 0:
        return []
    promoted = list(
        Rsvp.objects.select_for_update()
        .filter(gathering=gathering, state=Rsvp.State.WAITLISTED)
        .select_related("member")
        .order_by("position")[:free]
    )
    for rsvp in promoted:
        rsvp.state = Rsvp.State.CONFIRMED
        rsvp.confirmed_at = now
        rsvp.save(update_fields=["state", "confirmed_at"])
        _tell(kind=TriggerKind.EVENT_PROMOTED, gathering=gathering, member=rsvp.member, cause=str(rsvp.pk))
    return promoted


# --- messages ------------------------------------------------------------------------------------


def gathering_variables(*, gathering: Gathering, member: Member) -> dict[str, object]:
    """The event's message variables, in the member's language and the brand's timezone."""
    base = site_url()
    path = reverse("gatherings-detail", kwargs={"gathering_id": gathering.pk})
    with translation.override(member.language):
        return {
            "event_title": gathering.title,
            "event_date": datetime_format(gathering.starts_at),
            "event_place": gathering.place,
            "event_url": f"{base.rstrip('/')}{path}" if base else "",
        }


def _tell(*, kind: str, gathering: Gathering, member: Member, cause: str) -> int:
    """The message of `kind` to `member` about `gathering`, once per `cause`: how many were queued
    (one per channel the brand switched on)."""
    variables = gathering_variables(gathering=gathering, member=member)
    return len(
        trigger_fire(kind=kind, member=member, variables=variables, dedupe_key=f"{gathering.pk}:{cause}")
    )


# --- RSVPs ---------------------------------------------------------------------------------------


def rsvp_create(*, gathering_id: int, member: Member, now: datetime | None = None) -> Rsvp:
    """The member's answer "I come": a seat while one is left, else the end of the waiting list.
    Answering again while an answer is live gives it back unchanged (a double click)."""
    now = now or timezone.now()
    with transaction.atomic():
        gathering = _lock(gathering_id)
        if not gathering_visible_to(gathering=gathering, member=member):
            raise NotFound(f"no event {gathering_id}", field="gathering")
        if gathering.state != Gathering.State.PUBLISHED:
            raise Refused("this event is not open for answers", code="event_not_open", field="gathering")
        if gathering.starts_at <= now:
            raise Refused("this event has already begun", code="event_started", field="gathering")
        if member.status != Member.Status.ACTIVE:
            raise Refused("this member cannot answer events", code="member_not_active", field="member")
        existing = Rsvp.objects.filter(gathering=gathering, member=member, state__in=LIVE_STATES).first()
        if existing is not None:
            return existing
        rsvp = Rsvp(gathering=gathering, member=member)
        if _confirmed_count(gathering) < gathering.capacity:
            rsvp.state, rsvp.confirmed_at = Rsvp.State.CONFIRMED, now
        else:
            last = Rsvp.objects.filter(gathering=gathering).aggregate(last=Max("position"))["last"] or 0
            rsvp.state, rsvp.position = Rsvp.State.WAITLISTED, last + 1
        rsvp.save()
    return rsvp


def rsvp_cancel(*, rsvp_id: int, member: Member | None = None, now: datetime | None = None) -> Rsvp:
    """Cancel an RSVP (the member's own when `member` is given): a seat freed goes to the first of
    the waiting list, who is told. A cancelled one stays cancelled; a member checked in cannot."""
    now = now or timezone.now()
    with transaction.atomic():
        gathering_id = Rsvp.objects.filter(pk=rsvp_id).values_list("gathering_id", flat=True).first()
        if gathering_id is None:
            raise NotFound(f"no RSVP {rsvp_id}", field="rsvp")
        gathering = _lock(gathering_id)
        rsvp = Rsvp.objects.select_for_update().get(pk=rsvp_id)
        if member is not None and rsvp.member_id != member.pk:
            raise NotFound(f"no RSVP {rsvp_id}", field="rsvp")
        if rsvp.state == Rsvp.State.CANCELLED:
            return rsvp
        if rsvp.checked_in_at is not None:
            raise Refused("this member is checked in already", code="checked_in", field="rsvp")
        held_a_seat = rsvp.state == Rsvp.State.CONFIRMED
        rsvp.state, rsvp.cancelled_at = Rsvp.State.CANCELLED, now
        rsvp.save(update_fields=["state", "cancelled_at"])
        if held_a_seat:
            _promote(gathering=gathering, now=now)
    return rsvp


def member_rsvps_cancel(*, member_id: int, now: datetime | None = None) -> int:
    """Cancel the member's live answers to the events not begun yet (an anonymised member comes no
    more: their seats go to the waiting lists, in the order of the events' ids so two runs lock
    alike). Answers to events that began, and those checked in already, are kept: the
    attendance's record. How many."""
    now = now or timezone.now()
    rsvp_ids = Rsvp.objects.filter(
        member_id=member_id, state__in=LIVE_STATES, gathering__starts_at__gt=now, checked_in_at__isnull=True
    ).order_by("gathering_id", "pk")
    cancelled = 0
    for rsvp_id in list(rsvp_ids.values_list("pk", flat=True)):
        rsvp_cancel(rsvp_id=rsvp_id, now=now)
        cancelled += 1
    return cancelled


def member_anonymising_received(sender: Any, member_id: int, **kwargs: Any) -> None:
    """`loyalty.signals.member_anonymising`: the member's seats freed, in the anonymisation's own
    transaction."""
    member_rsvps_cancel(member_id=member_id)


def rsvp_check_in(*, rsvp_id: int, gathering_id: int, now: datetime | None = None) -> tuple[Rsvp, bool]:
    """Check a confirmed member in at the door: (rsvp, newly checked in); a second check-in
    changes nothing. An RSVP of another event, waitlisted or cancelled is refused."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock(gathering_id)
        rsvp = Rsvp.objects.select_for_update().filter(pk=rsvp_id, gathering_id=gathering_id).first()
        if rsvp is None:
            raise NotFound(f"no RSVP {rsvp_id} for this event", field="rsvp")
        if rsvp.state != Rsvp.State.CONFIRMED:
            raise Refused("only a confirmed member can be checked in", code="not_confirmed", field="rsvp")
        if rsvp.checked_in_at is not None:
            return rsvp, False
        rsvp.checked_in_at = now
        rsvp.save(update_fields=["checked_in_at"])
    return rsvp, True


# --- invitations and reminders -------------------------------------------------------------------


def gathering_invitations_send(*, gathering_id: int, segment: Segment | None = None) -> int:
    """Invite the members of `segment` (the event's own segment when not given) who may see the
    event (a club space's: who may enter it) and have not answered: one `event_invitation` message
    each, once per member and event however often it is sent. How many were queued. Refused when
    the event is not published, when no segment is known, or when no invitation trigger is on
    (nothing would leave)."""
    gathering = Gathering.objects.select_related("segment", "space").filter(pk=gathering_id).first()
    if gathering is None:
        raise NotFound(f"no event {gathering_id}", field="gathering")
    if gathering.state != Gathering.State.PUBLISHED:
        raise Refused("only a published event can be sent", code="event_not_open", field="gathering")
    segment = segment or gathering.segment
    if segment is None:
        raise InvalidInput("choose the segment to invite", field="segment")
    if not triggers_active().get(TriggerKind.EVENT_INVITATION):
        raise Refused(
            "switch on an “Event invitation” trigger (Messaging > Triggers) first",
            code="no_trigger",
            field="segment",
        )
    try:
        members = segment_members(segment=segment).filter(status=Member.Status.ACTIVE)
        if gathering.visibility == Gathering.Visibility.SEGMENT and gathering.segment is not None:
            members = members.filter(pk__in=segment_members(segment=gathering.segment).values("pk"))
    except SegmentFilterError as error:
        raise InvalidInput(f"the segment's filters no longer hold: {error}", field="segment") from error
    answered = Rsvp.objects.filter(gathering=gathering, state__in=LIVE_STATES).values("member_id")
    ids = list(members.exclude(pk__in=answered).order_by("pk").values_list("pk", flat=True))
    queued = 0
    for start in range(0, len(ids), INVITATIONS_CHUNK):
        with transaction.atomic():
            chunk = Member.objects.filter(pk__in=ids[start : start + INVITATIONS_CHUNK]).select_related(
                "tier"
            )
            for member in chunk:
                if gathering.space is not None and not space_may_enter(space=gathering.space, member=member):
                    continue  # a club space's event: only those who may enter it are invited
                queued += _tell(
                    kind=TriggerKind.EVENT_INVITATION,
                    gathering=gathering,
                    member=member,
                    cause=f"invite:{member.pk}",
                )
    return queued


def reminders_due_send(*, now: datetime | None = None) -> int:
    """Remind the confirmed members of the current brand's published events starting within
    `REMINDER_AHEAD`: once per RSVP and start (`reminded_at`, written with the message, cleared when
    the event moves; the beat may run twice). Nothing, and nothing marked, while no reminder trigger
    is on. How many RSVPs were reminded."""
    now = now or timezone.now()
    if not triggers_active().get(TriggerKind.EVENT_REMINDER):
        return 0
    due = Rsvp.objects.filter(
        state=Rsvp.State.CONFIRMED,
        reminded_at__isnull=True,
        gathering__state=Gathering.State.PUBLISHED,
        gathering__starts_at__gt=now,
        gathering__starts_at__lte=now + REMINDER_AHEAD,
    )
    reminded = 0
    for rsvp_id in list(due.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            rsvp = (
                due.select_for_update(skip_locked=True, of=("self",))
                .select_related("member__tier", "gathering")
                .filter(pk=rsvp_id)
                .first()
            )
            if rsvp is None:  # reminded meanwhile, or cancelled, or locked by a run at the same time
                continue
            rsvp.reminded_at = now
            rsvp.save(update_fields=["reminded_at"])
            _tell(
                kind=TriggerKind.EVENT_REMINDER,
                gathering=rsvp.gathering,
                member=rsvp.member,
                cause=f"remind:{rsvp.pk}:{rsvp.gathering.starts_at.isoformat()}",
            )
            reminded += 1
    return reminded
