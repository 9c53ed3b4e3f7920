"""The points ledger: every change of a balance is an entry, written under the member's row lock.

Invariants kept here (and checked by the tests under concurrency):
- member.balance == sum(entries.points), always, in the same transaction;
- sum(open lots' remaining) - member.points_owed == member.balance;
- debits take the oldest-expiring spendable lots first, so expiry is exact;
- the database refuses a balance below -member.overdraft_limit (0 by default).

Callers lock the member with `member_lock` inside `transaction.atomic()` and pass the locked row.
"""

from __future__ import annotations

import calendar
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from loyalty.models import LedgerEntry, LotConsumption, Member, PointLot, ProgrammeSettings


class LedgerError(Exception):
    """A ledger write that cannot happen; `code` is stable for API clients."""

    code = "ledger_error"


class InsufficientPoints(LedgerError):
    code = "insufficient_points"

    def __init__(self, *, needed: int, spendable: int) -> None:
        super().__init__(f"not enough points: {needed} needed, {spendable} spendable")
        self.needed = needed
        self.spendable = spendable


class MemberNotActive(LedgerError):
    code = "member_not_active"


@dataclass(frozen=True)
class EntryCause:
    """Why an entry exists: the event, rule, staff user, reason, outside source, explanation."""

    event_id: int | None = None
    rule_id: int | None = None
    staff_user_id: int | None = None
    reason: str = ""
    source: str = ""
    explanation: dict | None = None
    idempotency_key: str | None = None
    reverses_id: int | None = None


def programme_settings() -> ProgrammeSettings:
    settings_row, _ = ProgrammeSettings.objects.get_or_create(id=1)
    return settings_row


def brand_timezone() -> zoneinfo.ZoneInfo:
    """The timezone of the brand whose schema is active (UTC outside a brand)."""
    name = getattr(getattr(connection, "tenant", None), "timezone", None) or "UTC"
    return zoneinfo.ZoneInfo(name)


def member_lock(*, member_id: int) -> Member:
    """The member's row, locked until the transaction ends: every balance change goes through it."""
    return Member.objects.select_for_update().get(pk=member_id)


def lot_expiry(*, earned_at: datetime, programme: ProgrammeSettings) -> datetime | None:
    """When points earned at `earned_at` expire, by the programme's policy, in the brand's timezone."""
    policy = programme.expiry_policy
    if policy == ProgrammeSettings.Expiry.NEVER:
        return None
    if policy == ProgrammeSettings.Expiry.DAYS:
        return earned_at + timedelta(days=programme.expiry_days or 0)
    local = earned_at.astimezone(brand_timezone())
    if policy == ProgrammeSettings.Expiry.END_OF_MONTH:
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        last_day = calendar.monthrange(year, month)[1]
        end = local.replace(
            year=year, month=month, day=last_day, hour=23, minute=59, second=59, microsecond=0
        )
    else:  # END_OF_YEAR: the end of the year after the year of earning
        end = local.replace(
            year=local.year + 1, month=12, day=31, hour=23, minute=59, second=59, microsecond=0
        )
    return end


def points_credit(
    *,
    member: Member,
    points: int,
    kind: str,
    cause: EntryCause,
    at: datetime | None = None,
    programme: ProgrammeSettings | None = None,
    expires_at: datetime | None = None,
    use_policy_expiry: bool = True,
) -> LedgerEntry:
    """Add points: an entry and a lot. Points owed from an overdraft are repaid first."""
    if points <= 0:
        raise LedgerError(f"a credit must be positive, got {points}")
    _check_active(member)
    at = at or timezone.now()
    programme = programme or programme_settings()
    repaid = min(points, member.points_owed)
    entry = _entry_write(member=member, points=points, kind=kind, cause=cause, at=at)
    if use_policy_expiry and expires_at is None:
        expires_at = lot_expiry(earned_at=at, programme=programme)
    PointLot.objects.create(
        member=member,
        entry=entry,
        points=points,
        remaining=points - repaid,
        available_at=at + timedelta(days=programme.pending_days) if kind == LedgerEntry.Kind.EARN else at,
        expires_at=expires_at,
    )
    if repaid:
        member.points_owed -= repaid
        Member.objects.filter(pk=member.pk).update(points_owed=F("points_owed") - repaid)
    return entry


def points_debit(
    *,
    member: Member,
    points: int,
    kind: str,
    cause: EntryCause,
    at: datetime | None = None,
    allow_overdraft: bool = True,
    partial: bool = False,
) -> LedgerEntry | None:
    """Take points from the oldest-expiring spendable lots first.

    Beyond the lots, the member goes into overdraft only if their overdraft limit allows it (the
    database refuses a balance below it). With `partial`, takes what can be taken instead of
    refusing (used by reversals of points already spent); returns None when nothing could be taken.
    """
    if points <= 0:
        raise LedgerError(f"a debit must be positive, got {points}")
    at = at or timezone.now()
    lots = list(
        PointLot.objects.select_for_update()
        .filter(member=member, remaining__gt=0, available_at__lte=at)
        # A lot past its expiry is not spendable even before the nightly run has written it off.
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .order_by(F("expires_at").asc(nulls_last=True), "available_at", "id")
    )
    spendable = sum(lot.remaining for lot in lots)
    # Beyond the spendable lots, only an overdraft may cover the rest (never pending points).
    room = spendable + (max(0, member.overdraft_limit - member.points_owed) if allow_overdraft else 0)
    if points > room:
        if not partial:
            raise InsufficientPoints(needed=points, spendable=room)
        if room <= 0:
            return None
        points = room
    entry = _entry_write(member=member, points=-points, kind=kind, cause=cause, at=at)
    left = points
    consumptions = []
    for lot in lots:
        if not left:
            break
        taken = min(lot.remaining, left)
        lot.remaining -= taken
        left -= taken
        consumptions.append(LotConsumption(entry=entry, lot=lot, points=taken))
    PointLot.objects.bulk_update([c.lot for c in consumptions], ["remaining"])
    LotConsumption.objects.bulk_create(consumptions)
    if left:
        member.points_owed += left
        Member.objects.filter(pk=member.pk).update(points_owed=F("points_owed") + left)
    return entry


def points_restore(
    *, member: Member, debit: LedgerEntry, cause: EntryCause, at: datetime | None = None
) -> LedgerEntry:
    """Give back what a debit took (a cancelled redemption): back into the very lots it came from,
    with their original expiry, as one `reverse` entry."""
    at = at or timezone.now()
    entry = _entry_write(
        member=member,
        points=-debit.points,
        kind=LedgerEntry.Kind.REVERSE,
        cause=EntryCause(**{**cause.__dict__, "reverses_id": debit.pk}),
        at=at,
    )
    restored = 0
    for consumption in debit.consumptions.select_related("lot").select_for_update(of=("self",)):
        lot = PointLot.objects.select_for_update().get(pk=consumption.lot_id)
        expired = lot.expires_at is not None and lot.expires_at <= at
        if expired:
            continue  # points that would have expired meanwhile come back as a fresh lot below
        lot.remaining += consumption.points
        lot.save(update_fields=["remaining"])
        restored += consumption.points
    fresh = -debit.points - restored
    if fresh:
        repaid = min(fresh, member.points_owed)
        PointLot.objects.create(
            member=member,
            entry=entry,
            points=fresh,
            remaining=fresh - repaid,
            available_at=at,
            expires_at=None,
        )
        if repaid:
            member.points_owed -= repaid
            Member.objects.filter(pk=member.pk).update(points_owed=F("points_owed") - repaid)
    return entry


def _entry_write(*, member: Member, points: int, kind: str, cause: EntryCause, at: datetime) -> LedgerEntry:
    member.balance += points
    Member.objects.filter(pk=member.pk).update(balance=F("balance") + points, last_activity_at=at)
    return LedgerEntry.objects.create(
        member=member,
        kind=kind,
        points=points,
        balance_after=member.balance,
        created_at=at,
        event_id=cause.event_id,
        rule_id=cause.rule_id,
        staff_user_id=cause.staff_user_id,
        reason=cause.reason,
        source=cause.source,
        explanation=cause.explanation or {},
        idempotency_key=cause.idempotency_key,
        reverses_id=cause.reverses_id,
    )


def _check_active(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise MemberNotActive(f"member {member.external_id} is {member.status}")


def points_adjust(
    *, member_id: int, points: int, reason: str, staff_user_id: int | None, idempotency_key: str | None = None
) -> LedgerEntry:
    """A staff adjustment (positive or negative) with a required reason."""
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("reason: an adjustment needs a reason")
    if not points:
        raise LedgerError("points: an adjustment cannot be zero")
    with transaction.atomic():
        if idempotency_key:
            existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return existing
        member = member_lock(member_id=member_id)
        cause = EntryCause(staff_user_id=staff_user_id, reason=reason, idempotency_key=idempotency_key)
        if points > 0:
            return points_credit(member=member, points=points, kind=LedgerEntry.Kind.ADJUST, cause=cause)
        return points_debit(member=member, points=-points, kind=LedgerEntry.Kind.ADJUST, cause=cause)


def ledger_sum(*, member_id: int) -> int:
    return LedgerEntry.objects.filter(member_id=member_id).aggregate(total=Sum("points"))["total"] or 0
