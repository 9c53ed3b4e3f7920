"""Writes of prize draws (README "Community > Draws"): scheduling a draw (its secret seed drawn with
`secrets` and its SHA-256 published at once), tickets bought with points, the draw itself (once,
at or after `draw_at`) and its cancellation (bought tickets refunded).

**Lock order**: the draw's row first, then members' rows in id order. Buying tickets takes the
draw's row `FOR SHARE` (buyers do not wait for each other, only for a draw being run or cancelled,
which take it `FOR UPDATE`), then the buyer's row (`member_lock`) for the ledger. A run or a
cancellation that waits for the draw's lock therefore sees every ticket committed before it, and a
buyer who waits for it sees the draw drawn or cancelled and is refused.

The seed never leaves this module before the draw: the site, the admin and the exports show it only
once the draw's state is `drawn` (`draw_seed_public`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation

from community.drawing import seed_hash, winners
from community.models import Draw, DrawEntry, DrawState, DrawWinner
from community.selectors.draws import draw_tickets_by_member
from core.errors import InvalidInput, NotFound, Refused
from core.formats import datetime_format
from loyalty.models import LedgerEntry, Member
from loyalty.selectors.segments import segment_members
from loyalty.services.ledger import EntryCause, member_lock, points_debit, points_restore
from messaging.models import TriggerKind
from messaging.selectors.variables import site_url
from messaging.triggers import trigger_fire

DRAW_FIELDS = (
    "name",
    "prize",
    "description",
    "gift",
    "winners_count",
    "eligibility",
    "segment",
    "points_per_ticket",
    "ticket_price",
    "opens_at",
    "closes_at",
    "draw_at",
)
# What cannot change once tickets are bought: the members paid for these terms.
TERMS_FIELDS = ("eligibility", "ticket_price", "opens_at", "closes_at")
# What each way of taking part needs, and what it leaves empty.
ELIGIBILITY_FIELD = {
    Draw.Eligibility.SEGMENT: "segment",
    Draw.Eligibility.POINTS_SPENT: "points_per_ticket",
    Draw.Eligibility.TICKETS_BOUGHT: "ticket_price",
}
TICKETS_MAX = 100  # per purchase
WINNERS_MAX = 100
KEY_MAX = 64

logger = logging.getLogger(__name__)


# --- the draw ------------------------------------------------------------------------------------


def draw_validate(*, data: Mapping[str, Any], draw: Draw | None = None) -> Draw:
    """`draw` (or a new one) with `data` applied and checked, not saved: the one validation of the
    backoffice's form and the services. `data` holds typed values (aware datetimes, a `Segment`, a
    `Gift` or None); an `InvalidInput` names each field at fault."""
    unknown = sorted(set(data) - set(DRAW_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a field of a draw"] for field in unknown})
    draw = draw or Draw()
    for name, value in data.items():
        setattr(draw, name, "" if value is None and name in ("name", "prize", "description") else value)
    errors: dict[str, list[str]] = {}
    try:
        draw.full_clean(exclude=["seed", "seed_hash"], validate_constraints=False)
    except ValidationError as error:
        errors = {name: list(texts) for name, texts in error.message_dict.items()}
    for name in ("opens_at", "closes_at", "draw_at"):
        value = getattr(draw, name)
        if name not in errors and (not isinstance(value, datetime) or timezone.is_naive(value)):
            errors[name] = ["must be a date and time with its timezone"]
    if not errors.keys() & {"opens_at", "closes_at"} and draw.closes_at <= draw.opens_at:
        errors["closes_at"] = ["must be after the opening of entries"]
    if not errors.keys() & {"closes_at", "draw_at"} and draw.draw_at < draw.closes_at:
        errors["draw_at"] = ["must be at or after the close of entries"]
    if "winners_count" not in errors and not 1 <= (draw.winners_count or 0) <= WINNERS_MAX:
        errors["winners_count"] = [f"must be from 1 to {WINNERS_MAX}"]
    if "eligibility" not in errors:
        for eligibility, field in ELIGIBILITY_FIELD.items():
            value = getattr(draw, f"{field}_id" if field == "segment" else field)
            if field in errors:
                continue
            if draw.eligibility == eligibility and not value:
                errors[field] = ["is required for this way of taking part"]
            elif draw.eligibility != eligibility and value is not None:
                errors[field] = ["must be empty for this way of taking part"]
    if errors:
        raise InvalidInput(errors)
    return draw


def draw_create(*, data: Mapping[str, Any]) -> Draw:
    """Schedule a draw: its seed is drawn now (256 bits from `secrets`) and its hash published."""
    with transaction.atomic():
        draw = draw_validate(data=data)
        draw.seed = secrets.token_hex(32)
        draw.seed_hash = seed_hash(draw.seed)
        draw.save()
    return draw


def draw_update(*, draw_id: int, data: Mapping[str, Any]) -> Draw:
    """Change a scheduled draw under its lock. The seed and its hash never change (the hash is
    published); the terms members paid for (how they take part, the ticket price, the entry
    window) are fixed once a ticket is bought."""
    with transaction.atomic():
        draw = _lock(draw_id)
        if draw.state != DrawState.SCHEDULED:
            raise Refused(
                f"state: the draw is {draw.state}, it cannot change", field="state", code="draw_closed"
            )
        before = {name: getattr(draw, name) for name in TERMS_FIELDS}
        draw = draw_validate(data=data, draw=draw)
        changed = [name for name in TERMS_FIELDS if getattr(draw, name) != before[name]]
        if changed and DrawEntry.objects.filter(draw=draw).exists():
            raise InvalidInput({name: ["cannot change once tickets are bought"] for name in changed})
        draw.save()
    return draw


def _lock(draw_id: int) -> Draw:
    draw = Draw.objects.select_for_update().filter(pk=draw_id).first()
    if draw is None:
        raise NotFound(f"draw: no draw {draw_id}", field="draw")
    return draw


def _share(draw_id: int) -> Draw:
    """The draw's row locked `FOR SHARE`: buyers of one draw do not wait for each other."""
    table = connection.ops.quote_name(Draw._meta.db_table)
    rows = list(Draw.objects.raw(f"SELECT * FROM {table} WHERE id = %s FOR SHARE", [draw_id]))  # noqa: S608
    if not rows:
        raise NotFound(f"draw: no draw {draw_id}", field="draw")
    return rows[0]


# --- tickets -------------------------------------------------------------------------------------


def draw_tickets_buy(
    *, draw_id: int, member: Member, tickets: int, idempotency_key: str, now: datetime | None = None
) -> tuple[DrawEntry, bool]:
    """Buy `tickets` tickets of a draw sold for points, while its entries are open: one ledger debit
    of `tickets * ticket_price` (kind redeem) and one `DrawEntry`. The same `idempotency_key` sent
    again (a double click, a retry) returns the first purchase and takes nothing more: (entry,
    created)."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise InvalidInput(
            f"idempotency_key: 1 to {KEY_MAX} characters are required", field="idempotency_key"
        )
    if not isinstance(tickets, int) or isinstance(tickets, bool) or not 1 <= tickets <= TICKETS_MAX:
        raise InvalidInput(f"tickets: must be a number from 1 to {TICKETS_MAX}", field="tickets")
    now = now or timezone.now()
    ledger_key = f"draw:{draw_id}:member:{member.pk}:{key}"
    with transaction.atomic():
        draw = _share(draw_id)
        locked = member_lock(member_id=member.pk)
        existing = DrawEntry.objects.filter(entry__idempotency_key=ledger_key).first()
        if existing is not None:
            return existing, False
        if draw.eligibility != Draw.Eligibility.TICKETS_BOUGHT:
            raise Refused("draw: this draw's tickets are not sold", field="draw", code="tickets_not_sold")
        if draw.state != DrawState.SCHEDULED or not draw.opens_at <= now < draw.closes_at:
            raise Refused("draw: the entries of this draw are not open", field="draw", code="draw_not_open")
        if locked.status != Member.Status.ACTIVE:
            raise Refused(f"member: the account is {locked.status}", field="member", code="member_not_active")
        assert draw.ticket_price is not None  # the database's check: tickets sold have a price
        entry = DrawEntry(draw=draw, member=locked, tickets=tickets)
        entry.entry = points_debit(
            member=locked,
            points=tickets * draw.ticket_price,
            kind=LedgerEntry.Kind.REDEEM,
            cause=EntryCause(
                source=f"draw:{draw.pk}",
                reason=f"Prize draw tickets, draw {draw.pk}",
                explanation={"draw_id": draw.pk, "tickets": tickets},
                idempotency_key=ledger_key,
            ),
            at=now,
            allow_overdraft=False,
        )
        entry.save()
    return entry, True


# --- the draw itself -----------------------------------------------------------------------------


def draw_run(*, draw_id: int, now: datetime | None = None) -> Draw:
    """Draw the winners, once, at or after `draw_at`: the entries are made final (counted ones
    written, bought ones summed per member; members no longer active are left out), the winners
    follow from the seed (`community.drawing.winners`), the seed is published, and each winner is
    told (`draw_won`) after commit. A draw already drawn is returned as it is (run twice, even at
    once, draws once); a cancelled one or one not yet due is refused."""
    now = now or timezone.now()
    with transaction.atomic():
        draw = _lock(draw_id)
        if draw.state == DrawState.DRAWN:
            return draw
        if draw.state == DrawState.CANCELLED:
            raise Refused("draw: the draw is cancelled", field="draw", code="draw_cancelled")
        if now < draw.draw_at:
            raise Refused("draw: the draw is not due yet", field="draw", code="draw_not_due")
        _entries_count(draw=draw)
        tickets = draw_tickets_by_member(draw=draw)
        picked = winners(draw.seed, list(tickets.items()), draw.winners_count)
        DrawWinner.objects.bulk_create(
            DrawWinner(draw=draw, member_id=member_id, rank=rank) for rank, member_id in enumerate(picked, 1)
        )
        draw.state, draw.drawn_at = DrawState.DRAWN, now
        draw.save(update_fields=["state", "drawn_at"])
        transaction.on_commit(lambda: draw_winners_tell(draw_id=draw.pk))
    return draw


def _entries_count(*, draw: Draw) -> None:
    """The tickets of a draw that are counted, not bought, written as its entries at the draw: a
    segment's active members one each, or one per `points_per_ticket` points spent (redeemed, not
    given back) in the entry window."""
    if draw.eligibility == Draw.Eligibility.SEGMENT:
        assert draw.segment is not None
        members = segment_members(segment=draw.segment).filter(status=Member.Status.ACTIVE)
        counted = {member_id: 1 for member_id in members.values_list("pk", flat=True)}
    elif draw.eligibility == Draw.Eligibility.POINTS_SPENT:
        assert draw.points_per_ticket is not None
        spent = (
            LedgerEntry.objects.filter(
                kind=LedgerEntry.Kind.REDEEM,
                created_at__gte=draw.opens_at,
                created_at__lt=draw.closes_at,
                reversals__isnull=True,
                member__status=Member.Status.ACTIVE,
            )
            .values("member_id")
            .annotate(points=Sum("points"))
        )
        counted = {row["member_id"]: -row["points"] // draw.points_per_ticket for row in spent}
    else:
        return
    DrawEntry.objects.bulk_create(
        (DrawEntry(draw=draw, member_id=member_id, tickets=n) for member_id, n in counted.items() if n > 0),
        batch_size=2000,
    )


def draw_winners_tell(*, draw_id: int) -> int:
    """The `draw_won` message to each winner not told yet, once per winner (keyed by the draw and
    the member): how many winners were told."""
    draw = Draw.objects.get(pk=draw_id)
    told = 0
    for winner in DrawWinner.objects.filter(draw=draw, notified_at__isnull=True).select_related("member"):
        trigger_fire(
            kind=TriggerKind.DRAW_WON,
            member=winner.member,
            variables=_won_variables(draw=draw, member=winner.member),
            dedupe_key=f"draw:{draw.pk}:{winner.member_id}",
        )
        DrawWinner.objects.filter(pk=winner.pk).update(notified_at=timezone.now())
        told += 1
    return told


def _won_variables(*, draw: Draw, member: Member) -> dict[str, object]:
    base = site_url()
    path = reverse("community-draw", kwargs={"draw_id": draw.pk})
    with translation.override(member.language):
        return {
            "draw_name": draw.name,
            "draw_prize": draw.prize,
            "draw_date": datetime_format(draw.drawn_at or draw.draw_at),
            "draw_url": f"{base.rstrip('/')}{path}" if base else "",
        }


def draws_due_run(*, now: datetime | None = None) -> int:
    """Run every scheduled draw whose time has come (the beat task): how many were drawn. A run
    that meets a concurrent one waits for its lock and finds the draw drawn; a draw that fails is
    logged and the others go on."""
    now = now or timezone.now()
    due = Draw.objects.filter(state=DrawState.SCHEDULED, draw_at__lte=now).order_by("draw_at", "pk")
    drawn = 0
    for draw_id in due.values_list("pk", flat=True):
        try:
            draw_run(draw_id=draw_id, now=now)
        except Exception:
            logger.exception("draw %s did not run", draw_id)
        else:
            drawn += 1
    return drawn


# --- cancelling ----------------------------------------------------------------------------------


def draw_cancel(*, draw_id: int, now: datetime | None = None) -> Draw:
    """Cancel a scheduled draw: every bought ticket is refunded into the lots it was paid from
    (`points_restore`, one reverse entry per purchase, keyed so it happens once). A cancelled draw
    is returned as it is; a drawn one is refused (its winners stand)."""
    now = now or timezone.now()
    with transaction.atomic():
        draw = _lock(draw_id)
        if draw.state == DrawState.CANCELLED:
            return draw
        if draw.state == DrawState.DRAWN:
            raise Refused("draw: the draw is drawn already", field="draw", code="draw_drawn")
        bought = DrawEntry.objects.filter(draw=draw, entry__isnull=False).select_related("entry")
        for entry in bought.order_by("member_id", "pk"):
            member = member_lock(member_id=entry.member_id)
            assert entry.entry is not None
            points_restore(
                member=member,
                debit=entry.entry,
                cause=EntryCause(
                    source=f"draw:{draw.pk}",
                    reason=f"Prize draw {draw.pk} cancelled: tickets refunded",
                    idempotency_key=f"draw:{draw.pk}:entry:{entry.pk}:refund",
                ),
                at=now,
            )
        draw.state = DrawState.CANCELLED
        draw.save(update_fields=["state"])
    return draw
