"""Reads of events with limited seats: what a member may see, their RSVP and place in the waiting
list, the attendee list (the backoffice's CSV and door check-in)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from catalog.selectors import csv_safe
from clubs.models import Space
from clubs.selectors import space_may_enter
from gatherings.models import Gathering, Rsvp
from loyalty.models import Member
from loyalty.selectors.segments import SegmentFilterError, segment_members
from tenants.selectors import brand_timezone

# States a member's page may show (a draft is the brand's own; a cancelled event says so).
SHOWN_STATES = (Gathering.State.PUBLISHED, Gathering.State.CANCELLED)
LIVE_STATES = (Rsvp.State.CONFIRMED, Rsvp.State.WAITLISTED)


def gathering_visible_to(*, gathering: Gathering, member: Member | None) -> bool:
    """Whether `member` (None: an anonymous visitor) may see `gathering`, whatever its state:
    everyone's events to all, a segment's to its members only (none when its filters no longer
    hold), a club space's to those who may enter it."""
    if gathering.visibility == Gathering.Visibility.EVERYONE:
        return True
    if member is None:
        return False
    if gathering.visibility == Gathering.Visibility.SPACE:
        return gathering.space is not None and space_may_enter(space=gathering.space, member=member)
    if gathering.segment is None:
        return False
    try:
        return segment_members(segment=gathering.segment).filter(pk=member.pk).exists()
    except SegmentFilterError:
        return False


def gatherings_with_counts() -> QuerySet[Gathering]:
    """Every gathering with `confirmed_count` and `waitlisted_count`."""
    return Gathering.objects.select_related("segment", "space", "space__tier", "space__segment").annotate(
        confirmed_count=Count("rsvps", filter=Q(rsvps__state=Rsvp.State.CONFIRMED)),
        waitlisted_count=Count("rsvps", filter=Q(rsvps__state=Rsvp.State.WAITLISTED)),
    )


def gatherings_upcoming_for(
    *, member: Member | None, space: Space | None = None, now: datetime | None = None
) -> list[Gathering]:
    """The published gatherings not over yet that `member` may see (only those of `space` when
    given: a club space's page lists its own), soonest first, with their counts. Each segment or
    space is asked once however many of its events there are."""
    now = now or timezone.now()
    rows = gatherings_with_counts().filter(state=Gathering.State.PUBLISHED, ends_at__gt=now)
    if space is not None:
        rows = rows.filter(space=space)
    seen: dict[tuple[str, int | None], bool] = {}
    visible = []
    for gathering in rows.order_by("starts_at", "id"):
        audience = (gathering.visibility, gathering.segment_id or gathering.space_id)
        if audience not in seen:
            seen[audience] = gathering_visible_to(gathering=gathering, member=member)
        if seen[audience]:
            visible.append(gathering)
    return visible


def gathering_for(*, gathering_id: int, member: Member | None) -> Gathering | None:
    """The gathering's page for `member`: published or cancelled, and visible to them; None
    otherwise (another segment's event is as unknown as a missing one)."""
    gathering = gatherings_with_counts().filter(pk=gathering_id, state__in=SHOWN_STATES).first()
    if gathering is None or not gathering_visible_to(gathering=gathering, member=member):
        return None
    return gathering


def rsvp_live_for(*, gathering: Gathering, member: Member) -> Rsvp | None:
    """The member's confirmed or waitlisted RSVP to the gathering, if any."""
    return Rsvp.objects.filter(gathering=gathering, member=member, state__in=LIVE_STATES).first()


def rsvp_waitlist_number(*, rsvp: Rsvp) -> int | None:
    """The RSVP's number in its waiting list (1: the next promoted); None when not waitlisted."""
    if rsvp.state != Rsvp.State.WAITLISTED or rsvp.position is None:
        return None
    return Rsvp.objects.filter(
        gathering_id=rsvp.gathering_id, state=Rsvp.State.WAITLISTED, position__lte=rsvp.position
    ).count()


def gathering_rsvps(*, gathering_id: int, search: str = "") -> QuerySet[Rsvp]:
    """The gathering's live RSVPs: confirmed first (by answer), then the waiting list in order;
    `search` keeps those whose member's name, e-mail, company or external id contains it (a NUL,
    which PostgreSQL's text refuses, is dropped)."""
    rsvps = (
        Rsvp.objects.filter(gathering_id=gathering_id, state__in=LIVE_STATES)
        .select_related("member")
        .order_by("state", "position", "created_at", "id")  # "confirmed" sorts before "waitlisted"
    )
    for word in search.replace("\x00", "").split():
        rsvps = rsvps.filter(
            Q(member__first_name__icontains=word)
            | Q(member__last_name__icontains=word)
            | Q(member__company_name__icontains=word)
            | Q(member__email__icontains=word)
            | Q(member__external_id__icontains=word)
        )
    return rsvps


ATTENDEE_COLUMNS = (
    "external_id",
    "first_name",
    "last_name",
    "company",
    "email",
    "phone",
    "state",
    "waiting_list_number",
    "answered_at",
    "checked_in_at",
)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(brand_timezone()).isoformat(timespec="seconds") if moment else ""


def gathering_attendees_csv(*, gathering: Gathering) -> str:
    """The attendee list as CSV: the confirmed, then the waiting list in order (its number), with
    answer and check-in times in the brand's timezone; cells a spreadsheet would run as formulas
    are quoted (`catalog.selectors.csv_safe`)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ATTENDEE_COLUMNS)
    number = 0
    for rsvp in gathering_rsvps(gathering_id=gathering.pk):
        member = rsvp.member
        waiting = ""
        if rsvp.state == Rsvp.State.WAITLISTED:
            number += 1
            waiting = str(number)
        writer.writerow(
            csv_safe(value)
            for value in [
                member.external_id,
                member.first_name,
                member.last_name,
                member.company_name,
                member.email,
                member.phone,
                rsvp.state,
                waiting,
                _local(rsvp.created_at),
                _local(rsvp.checked_in_at),
            ]
        )
    return out.getvalue()
