"""Reads of prize draws: the site's list and page, the public entries that let anyone check a draw,
a member's own tickets. The seed is read through `draw_seed_public` only: empty until the draw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.crypto import salted_hmac

from community.models import Draw, DrawEntry, DrawState, DrawWinner
from loyalty.models import Member
from loyalty.selectors.leaderboard import leaderboard_name

CODE_SALT = "community.draws.entry"
PAST_DRAWS = 20  # on the site's list


@dataclass(frozen=True)
class PublicEntry:
    """One line of a draw's published entries: its place in the draw's order (1 first), a code
    standing for the member (not their name), their tickets and ticket numbers, their rank if they
    won, and whether it is the reader's own."""

    position: int
    code: str
    tickets: int
    first_ticket: int
    last_ticket: int
    rank: int | None
    mine: bool


@dataclass(frozen=True)
class PublicWinner:
    rank: int
    name: str
    code: str


def draws_upcoming() -> QuerySet[Draw]:
    """The scheduled draws, the next to draw first."""
    return Draw.objects.filter(state=DrawState.SCHEDULED).select_related("gift").order_by("draw_at", "pk")


def draws_drawn(*, limit: int = PAST_DRAWS) -> QuerySet[Draw]:
    """The latest draws drawn, latest first (cancelled ones are not listed; their page stays)."""
    return (
        Draw.objects.filter(state=DrawState.DRAWN).select_related("gift").order_by("-drawn_at", "-pk")[:limit]
    )


def draw_get(*, draw_id: int) -> Draw | None:
    return Draw.objects.select_related("gift").filter(pk=draw_id).first()


def draw_seed_public(*, draw: Draw) -> str:
    """The seed as the public may see it: after the draw only."""
    return draw.seed if draw.state == DrawState.DRAWN else ""


def draw_is_open(*, draw: Draw, now: datetime | None = None) -> bool:
    """Whether the draw takes entries now (scheduled, within its window)."""
    now = now or timezone.now()
    return draw.state == DrawState.SCHEDULED and draw.opens_at <= now < draw.closes_at


def draw_is_due(*, draw: Draw, now: datetime | None = None) -> bool:
    """Whether the draw may be run now (scheduled, its time come)."""
    return draw.state == DrawState.SCHEDULED and (now or timezone.now()) >= draw.draw_at


def draw_totals(*, draw: Draw) -> tuple[int, int]:
    """(members, tickets) in the draw so far (before a counted draw runs: none yet)."""
    totals = DrawEntry.objects.filter(draw=draw).aggregate(
        members=Count("member", distinct=True), tickets=Sum("tickets")
    )
    return totals["members"], totals["tickets"] or 0


def draw_member_tickets(*, draw: Draw, member: Member) -> int:
    """The member's tickets in the draw (bought, or counted once drawn)."""
    return DrawEntry.objects.filter(draw=draw, member=member).aggregate(n=Sum("tickets"))["n"] or 0


def draw_tickets_by_member(*, draw: Draw) -> dict[int, int]:
    """Each active member's tickets in the draw (their entries summed), by member id: the entries
    the drawing takes (members no longer active are left out)."""
    rows = (
        DrawEntry.objects.filter(draw=draw, member__status=Member.Status.ACTIVE)
        .values("member_id")
        .annotate(tickets=Sum("tickets"))
        .order_by("member_id")
    )
    return {row["member_id"]: row["tickets"] for row in rows}


def entry_code(*, draw: Draw, member_id: int) -> str:
    """The code standing for a member in a draw's public list: keyed by the platform's secret, so
    nobody can tell whose it is (a member sees their own marked); another in each draw."""
    return salted_hmac(CODE_SALT, f"{draw.pk}:{member_id}").hexdigest()[:10].upper()


def draw_entries_public(*, draw: Draw, member: Member | None = None) -> list[PublicEntry]:
    """The draw's entries in the order the drawing used (by member id), with their ticket numbers:
    what anyone needs, with the published seed, to recompute the winners. Empty before the draw
    (the entries are final only then)."""
    if draw.state != DrawState.DRAWN:
        return []
    ranks = dict(DrawWinner.objects.filter(draw=draw).values_list("member_id", "rank"))
    lines, first = [], 0
    for position, (member_id, tickets) in enumerate(draw_tickets_by_member(draw=draw).items(), 1):
        lines.append(
            PublicEntry(
                position=position,
                code=entry_code(draw=draw, member_id=member_id),
                tickets=tickets,
                first_ticket=first,
                last_ticket=first + tickets - 1,
                rank=ranks.get(member_id),
                mine=member is not None and member.pk == member_id,
            )
        )
        first += tickets
    return lines


def draw_winners_public(*, draw: Draw) -> list[PublicWinner]:
    """The winners as the public sees them: their rank, public name (`leaderboard_name`, "a member"
    without one) and their code in the entries."""
    rows = DrawWinner.objects.filter(draw=draw).select_related("member").order_by("rank")
    return [
        PublicWinner(
            rank=row.rank,
            name=leaderboard_name(member=row.member) or "",
            code=entry_code(draw=draw, member_id=row.member_id),
        )
        for row in rows
    ]
