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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import F, Model, Q, QuerySet, Sum
from django.utils import timezone

from core.audit import audit_record
from core.db import (
    COPY_FROM_ROWS,
    cast_types,
    insert_fields,
    insert_params,
    row_insert,
    row_insert_sql,
    values_insert,
)
from core.errors import Conflict, DomainError, InvalidInput, Refused
from core.models import AuditEntry
from core.roles import adjust_limit_for
from loyalty.models import LedgerEntry, LotConsumption, Member, PointLot, ProgrammeSettings
from loyalty.selectors.programme import programme_settings
from loyalty.signals import PointsChange, changes_send, points_changed
from tenants.selectors import brand_timezone


class LedgerError(DomainError):
    """A ledger write that cannot happen: every ledger error is one (callers catch them all with
    it); `code` is stable for API clients."""

    code = "ledger_error"


class LedgerInvalid(LedgerError, InvalidInput):
    """A ledger write asked with impossible arguments (no points, an adjustment without a reason)."""


class InsufficientPoints(LedgerError, Conflict):
    code = "insufficient_points"

    def __init__(self, *, needed: int, spendable: int) -> None:
        super().__init__(f"not enough points: {needed} needed, {spendable} spendable", field="points")
        self.needed = needed
        self.spendable = spendable


class AdjustmentOverLimit(LedgerError, Refused):
    """A support user's adjustment beyond the limit an owner set (`StaffSettings`)."""

    def __init__(self, *, points: int, limit: int) -> None:
        super().__init__(
            f"points: {abs(points)} points is over the support role's limit of {limit} per adjustment; "
            "ask a manager or an owner",
            field="points",
            code="adjust_over_limit",
        )


class MemberNotActive(LedgerError, Conflict):
    code = "member_not_active"

    def __init__(self, member: Member) -> None:
        super().__init__(f"member {member.external_id} is {member.status}", field="external_id")


@dataclass(frozen=True)
class EntryCause:
    """Why an entry exists: the event, rule, staff user, reason, outside source, explanation."""

    event_id: int | None = None
    rule_id: int | None = None
    staff_user_id: int | None = None
    reason: str = ""
    source: str = ""
    explanation: dict | Sql | None = None  # Sql: `entries_insert_select` only
    idempotency_key: str | None = None
    reverses_id: int | None = None


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


@dataclass(frozen=True)
class Credit:
    """One credit of `points_credit_many`: points to a (row-locked) member, with their cause."""

    member: Member
    points: int
    cause: EntryCause


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
    at = at or timezone.now()
    programme = programme or programme_settings()
    if use_policy_expiry and expires_at is None:
        expires_at = lot_expiry(earned_at=at, programme=programme)
    credit = Credit(member=member, points=points, cause=cause)
    (entry,) = _credits_write(credits=[credit], kind=kind, at=at, programme=programme, expires_at=expires_at)
    attnames = [field.attname for field in LedgerEntry._meta.concrete_fields]
    return LedgerEntry.from_db(connection.alias, attnames, [entry[attname] for attname in attnames])


def points_credit_many(
    *,
    credits: list[Credit],
    kind: str,
    at: datetime,
    programme: ProgrammeSettings,
    with_rows: Sequence[Model] = (),
) -> list[int]:
    """Many credits at once (a batch of events), each written exactly as `points_credit` writes it,
    in order, with the policy's expiry: one INSERT of entries, one of lots, one UPDATE of the
    members. The members are row-locked by the caller, and their objects follow the changes.
    `with_rows`: new rows with their id set (the event the credits are for) inserted with them.
    Returns the entries' ids."""
    expires_at = lot_expiry(earned_at=at, programme=programme)
    entries = _credits_write(
        credits=credits, kind=kind, at=at, programme=programme, expires_at=expires_at, with_rows=with_rows
    )
    return [entry["id"] for entry in entries]


def _credits_write(
    *,
    credits: list[Credit],
    kind: str,
    at: datetime,
    programme: ProgrammeSettings,
    expires_at: datetime | None,
    with_rows: Sequence[Model] = (),
) -> list[dict]:
    """The entries written, as their columns with their `id`."""
    for credit in credits:
        if credit.points <= 0:
            raise LedgerInvalid(f"a credit must be positive, got {credit.points}", field="points")
        _check_active(credit.member)
    available_at = at + timedelta(days=programme.pending_days) if kind == LedgerEntry.Kind.EARN else at
    entries, remaining = [], []
    changes: dict[int, list[int]] = {}  # member id -> [points, change of points owed]
    for credit in credits:
        member = credit.member
        repaid = min(credit.points, member.points_owed)
        member.balance += credit.points
        member.points_owed -= repaid
        change = changes.setdefault(member.pk, [0, 0])
        change[0] += credit.points
        change[1] -= repaid
        entries.append(
            entry_values(
                member_id=member.pk,
                kind=kind,
                points=credit.points,
                balance_after=member.balance,
                at=at,
                cause=credit.cause,
            )
        )
        remaining.append(credit.points - repaid)
    if not entries:
        if with_rows:
            raise LedgerInvalid("rows to insert with credits, but no credit", field="with_rows")
        return []
    if len(entries) < COPY_FROM_ROWS:
        ids = _credits_insert(
            entries=entries,
            remaining=remaining,
            available_at=available_at,
            expires_at=expires_at,
            changes=changes,
            at=at,
            inserts=[row_insert_sql(row) for row in with_rows],
        )
    else:
        for row in with_rows:
            row_insert(row)
        _members_change(changes=changes, at=at)
        ids = values_insert(LedgerEntry, entries)
        values_insert(
            PointLot,
            [
                {
                    "member_id": entry["member_id"],
                    "entry_id": entry_id,
                    "points": entry["points"],
                    "remaining": left,
                    "available_at": available_at,
                    "expires_at": expires_at,
                }
                for entry, entry_id, left in zip(entries, ids, remaining, strict=True)
            ],
        )
    for row in with_rows:
        row._state.adding = False
    written = [{"id": entry_id, **entry} for entry, entry_id in zip(entries, ids, strict=True)]
    changes_send(points_changed, map(points_change, written))
    return written


def _credits_insert(
    *,
    entries: list[dict],
    remaining: list[int],
    available_at: datetime,
    expires_at: datetime | None,
    changes: dict[int, list[int]],
    at: datetime,
    inserts: list[tuple[str, list]],
) -> list[int]:
    """A few credits (a single event's, an adjustment...) in one statement: the entries, their lots
    and the members' balances, the entries' ids drawn from their sequence in the statement, in
    order; and `inserts` (`row_insert_sql`, the event the credits are for). Four statements (four
    round trips, each with its Python) became one. `remaining`: each lot's remaining points (what
    repaying a debt left)."""
    fields = insert_fields(LedgerEntry)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    types = cast_types(fields)  # a VALUES list in FROM does not take its types from the table
    row = "(" + ", ".join([f"%s::{db_type}" for db_type in types] + ["%s::integer"] * 2) + ")"
    params: list = []
    for position, (entry, left) in enumerate(zip(entries, remaining, strict=True)):
        params += [*insert_params(fields, entry), left, position]
    members_sql, members_params = _members_change_sql(changes=changes, at=at)
    entry_table, lot_table = quote(LedgerEntry._meta.db_table), quote(PointLot._meta.db_table)
    rows_sql = "".join(f"row_{index} AS ({insert}), " for index, (insert, _) in enumerate(inserts))
    sql = f"""
        WITH {rows_sql}v AS (
            SELECT nextval(pg_get_serial_sequence('{LedgerEntry._meta.db_table}', 'id')) AS id, v.*
            FROM (VALUES {", ".join([row] * len(entries))}) AS v({columns}, lot_remaining, position)
        ), entries AS (
            INSERT INTO {entry_table} (id, {columns}) SELECT id, {columns} FROM v
        ), lots AS (
            INSERT INTO {lot_table} (member_id, entry_id, points, remaining, available_at, expires_at)
            SELECT member_id, id, points, lot_remaining, %s::timestamptz, %s::timestamptz FROM v
        ), members AS ({members_sql})
        SELECT id FROM v ORDER BY position
    """  # noqa: S608 (names and placeholders only)
    with connection.cursor() as cursor:
        rows_params = [param for _, row_params in inserts for param in row_params]
        cursor.execute(sql, [*rows_params, *params, available_at, expires_at, *members_params])
        return [pk for (pk,) in cursor.fetchall()]


# PostgreSQL plans a statement over array parameters (`unnest`, `= ANY`) anew on every run, even
# prepared: its generic plan, made without knowing the arrays' lengths, always looks dearer. One
# member (a single event) is the common case, so it gets statements of plain parameters, whose
# generic plan is kept.
_MEMBER_CHANGE_SQL = f"""UPDATE {Member._meta.db_table}
    SET balance = balance + %s, points_owed = points_owed + %s, last_activity_at = %s WHERE id = %s"""  # noqa: S608
_MEMBERS_CHANGE_SQL = f"""UPDATE {Member._meta.db_table} AS m
    SET balance = m.balance + v.points, points_owed = m.points_owed + v.owed, last_activity_at = %s
    FROM unnest(%s::bigint[], %s::integer[], %s::integer[]) AS v(id, points, owed)
    WHERE m.id = v.id"""  # noqa: S608
_MEMBER_TOUCH_SQL = f"UPDATE {Member._meta.db_table} SET last_activity_at = %s WHERE id = %s"  # noqa: S608
_MEMBERS_TOUCH_SQL = f"UPDATE {Member._meta.db_table} SET last_activity_at = %s WHERE id = ANY(%s)"  # noqa: S608


def _members_change(*, changes: dict[int, list[int]], at: datetime) -> None:
    """Add [points, points owed] to each member's balance and debt, one UPDATE for all of them."""
    with connection.cursor() as cursor:
        cursor.execute(*_members_change_sql(changes=changes, at=at))


def _members_change_sql(*, changes: dict[int, list[int]], at: datetime) -> tuple[str, list]:
    if len(changes) == 1:
        ((pk, (points, owed)),) = changes.items()
        return _MEMBER_CHANGE_SQL, [points, owed, at, pk]
    ids, all_points, all_owed = zip(*((pk, *change) for pk, change in sorted(changes.items())), strict=True)
    return _MEMBERS_CHANGE_SQL, [at, list(ids), list(all_points), list(all_owed)]


def members_touch(*, member_ids: Iterable[int], at: datetime) -> None:
    """Members were active at `at` without a change of balance (an event that earned nothing)."""
    ids = sorted(member_ids)
    if ids:
        with connection.cursor() as cursor:
            if len(ids) == 1:
                cursor.execute(_MEMBER_TOUCH_SQL, [at, ids[0]])
            else:
                cursor.execute(_MEMBERS_TOUCH_SQL, [at, ids])


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
        raise LedgerInvalid(f"a debit must be positive, got {points}", field="points")
    at = at or timezone.now()
    lots = list(_spendable_lots(member_id=member.pk, at=at).select_for_update())
    spendable = sum(lot.remaining for lot in lots)
    # Beyond the spendable lots, only an overdraft may cover the rest (never pending points).
    room = spendable + (_overdraft_room(member) if allow_overdraft else 0)
    if points > room:
        if not partial:
            raise InsufficientPoints(needed=points, spendable=room)
        if room <= 0:
            return None
        points = room
    taking = _lots_plan(lots, points)
    owed = points - sum(taken for _, taken in taking)
    entry = _entry_write(member=member, points=-points, kind=kind, cause=cause, at=at, owed=owed)
    _lots_take(entry=entry, taking=taking)
    return entry


def points_spendable(*, member: Member, at: datetime) -> int:
    """What the member can spend at `at`: their spendable lots (available, not past their expiry)
    plus what their overdraft limit still allows; exactly what `points_debit` would let them take."""
    lots = _spendable_lots(member_id=member.pk, at=at).aggregate(total=Sum("remaining"))["total"]
    return (lots or 0) + _overdraft_room(member)


def points_reverse(
    *, member: Member, entry: LedgerEntry, cause: EntryCause, at: datetime | None = None
) -> tuple[LedgerEntry | None, dict]:
    """Take back what the credit `entry` gave (a refunded purchase), as one `reverse` entry: from the
    entry's own lot first (pending or not), then, for what was spent of it, from the member's other
    spendable lots (oldest-expiring first) and overdraft room, as far as they go. What expired of
    the entry's lot is not taken again: the member lost it already. Returns the entry (None: nothing
    to take) and its `reversal_note`, which the entry's explanation includes."""
    at = at or timezone.now()
    (plan,) = _reverse_plans(member=member, entries=[entry], at=at, lock=True)
    note = reversal_note(earned=entry.points, taken=plan.taken, expired=plan.expired)
    if not plan.taken:
        return None, note
    assert not isinstance(cause.explanation, Sql)  # SQL expressions: set-based statements only
    explanation = {**(cause.explanation or {}), **note}
    cause = EntryCause(**{**cause.__dict__, "reverses_id": entry.pk, "explanation": explanation})
    debit = _entry_write(
        member=member, points=-plan.taken, kind=LedgerEntry.Kind.REVERSE, cause=cause, at=at, owed=plan.owed
    )
    _lots_take(entry=debit, taking=plan.taking)
    return debit, note


def points_reversible(*, member: Member, entries: list[LedgerEntry], at: datetime) -> list[dict]:
    """The `reversal_note` of what `points_reverse` would take back for each of the member's
    `entries`, reversed one after the other, now; reads only (the simulator)."""
    plans = _reverse_plans(member=member, entries=entries, at=at, lock=False)
    return [
        reversal_note(earned=entry.points, taken=plan.taken, expired=plan.expired)
        for entry, plan in zip(entries, plans, strict=True)
    ]


def reversal_note(*, earned: int, taken: int, expired: int = 0) -> dict:
    """How a reversal explains itself: what the credit gave, what was taken back, what was not and
    why (expired, or already spent)."""
    note: dict = {"earned": earned, "taken_back": taken}
    if taken < earned:
        note["not_recovered"] = earned - taken
        reasons = []
        if expired:
            note["expired"] = expired
            reasons.append(f"{expired} had expired")
        if earned - taken - expired:
            reasons.append(f"{earned - taken - expired} were already spent (or are not spendable yet)")
        why = " and ".join(reasons)
        note["note"] = f"of the {earned} points earned, {why}: only what was left is taken back"
    return note


def _spendable_lots(*, member_id: int, at: datetime) -> QuerySet[PointLot]:
    """The member's lots a debit may take from, in the order it takes them (oldest expiry first)."""
    return (
        PointLot.objects.filter(member_id=member_id, remaining__gt=0, available_at__lte=at)
        # A lot past its expiry is not spendable even before the nightly run has written it off.
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .order_by(F("expires_at").asc(nulls_last=True), "available_at", "id")
    )


def _overdraft_room(member: Member) -> int:
    return max(0, member.overdraft_limit - member.points_owed)


def _lots_plan(lots: list[PointLot], points: int) -> list[tuple[PointLot, int]]:
    """How much to take from each lot, in order, up to `points` (less if the lots hold less)."""
    taking = []
    for lot in lots:
        if not points:
            break
        taken = min(lot.remaining, points)
        if taken:
            taking.append((lot, taken))
            points -= taken
    return taking


def _lots_take(*, entry: LedgerEntry, taking: list[tuple[PointLot, int]]) -> None:
    for lot, taken in taking:
        lot.remaining -= taken
    PointLot.objects.bulk_update([lot for lot, _ in taking], ["remaining"])
    LotConsumption.objects.bulk_create(
        LotConsumption(entry=entry, lot=lot, points=taken) for lot, taken in taking
    )


class _ReversePlan(NamedTuple):
    taking: list[tuple[PointLot, int]]  # points from which lots
    owed: int  # points into overdraft
    expired: int  # points of the entry's own lot that expired: not taken again

    @property
    def taken(self) -> int:
        return sum(points for _, points in self.taking) + self.owed


def _reverse_plans(
    *, member: Member, entries: list[LedgerEntry], at: datetime, lock: bool
) -> list[_ReversePlan]:
    """For each entry in turn, what its reversal takes: its own lot first, then the spendable lots,
    then overdraft room, up to what it earned less what expired of its own lot. Two queries: the
    lots, and what expiry took from the entries' own lots."""
    ids = [entry.pk for entry in entries]
    query = PointLot.objects.filter(
        Q(member_id=member.pk, entry_id__in=ids, remaining__gt=0)
        | Q(pk__in=_spendable_lots(member_id=member.pk, at=at).values("pk"))
    ).order_by(F("expires_at").asc(nulls_last=True), "available_at", "id")
    lots = list(query.select_for_update() if lock else query)
    expired = dict(
        LotConsumption.objects.filter(lot__entry_id__in=ids, entry__kind=LedgerEntry.Kind.EXPIRE)
        .values("lot__entry_id")
        .annotate(points=Sum("points"))
        .values_list("lot__entry_id", "points")
    )
    left = {lot.pk: lot.remaining for lot in lots}
    room = _overdraft_room(member)
    plans = []
    for entry in entries:
        own = [lot for lot in lots if lot.entry_id == entry.pk]
        spendable = [lot for lot in lots if lot.entry_id != entry.pk and _is_spendable(lot, at)]
        gone = expired.get(entry.pk, 0)
        wanted, taking = entry.points - gone, []
        for lot in own + spendable:
            taken = min(left[lot.pk], wanted)
            if taken:
                taking.append((lot, taken))
                left[lot.pk] -= taken
                wanted -= taken
        owed = min(wanted, room)
        room -= owed
        plans.append(_ReversePlan(taking=taking, owed=owed, expired=gone))
    return plans


def _is_spendable(lot: PointLot, at: datetime) -> bool:
    return lot.available_at <= at and (lot.expires_at is None or lot.expires_at > at)


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


def _entry_write(
    *, member: Member, points: int, kind: str, cause: EntryCause, at: datetime, owed: int = 0
) -> LedgerEntry:
    """The entry, and the member's balance (and points owed, by `owed`) in one UPDATE."""
    member.balance += points
    changes: dict = {"balance": F("balance") + points, "last_activity_at": at}
    if owed:
        member.points_owed += owed
        changes["points_owed"] = F("points_owed") + owed
    Member.objects.filter(pk=member.pk).update(**changes)
    entry = LedgerEntry(
        **entry_values(
            member_id=member.pk, kind=kind, points=points, balance_after=member.balance, at=at, cause=cause
        )
    )
    entry.save(force_insert=True)
    changes_send(points_changed, map(points_change, [entry.__dict__]))
    return entry


# What `loyalty.signals.PointsChange` calls each kind of entry.
POINTS_CHANGE_KINDS = {
    LedgerEntry.Kind.EARN: "earned",
    LedgerEntry.Kind.REDEEM: "redeemed",
    LedgerEntry.Kind.EXPIRE: "expired",
    LedgerEntry.Kind.REVERSE: "reversed",
    LedgerEntry.Kind.ADJUST: "adjusted",
    LedgerEntry.Kind.TRANSFER: "adjusted",
}


def points_change(entry: dict[str, Any]) -> PointsChange:
    """The change an entry (its columns, with its id) made to a balance, for `points_changed`."""
    return PointsChange(
        member_id=entry["member_id"],
        kind=POINTS_CHANGE_KINDS[entry["kind"]],
        points=entry["points"],
        balance_after=entry["balance_after"],
        ledger_entry_id=entry["id"],
        event_id=entry["event_id"],
    )


class Sql(str):
    """An SQL expression standing for a value in a set-based statement (`entries_insert_select`),
    read from each row of its source."""


def entry_values(
    *,
    member_id: int | Sql,
    kind: str,
    points: int | Sql,
    balance_after: int | Sql,
    at: datetime | Sql,
    cause: EntryCause,
) -> dict[str, Any]:
    """An entry's columns, every one but its id: the one builder of an entry row, which every
    writing path uses (the ORM's `_entry_write`, the multi-row INSERT and the COPY of credits, the
    nightly expiry's statement), so a new column of `LedgerEntry` is set here only."""
    return {
        "member_id": member_id,
        "kind": kind,
        "points": points,
        "balance_after": balance_after,
        "created_at": at,
        "event_id": cause.event_id,
        "rule_id": cause.rule_id,
        "staff_user_id": cause.staff_user_id,
        "reason": cause.reason,
        "source": cause.source,
        "explanation": {} if cause.explanation is None else cause.explanation,
        "idempotency_key": cause.idempotency_key,
        "reverses_id": cause.reverses_id,
    }


def entries_insert_select(values: dict[str, Any], *, source: str) -> tuple[str, dict[str, Any]]:
    """The INSERT of one entry per row of `source` (a set-based statement's CTE): `values` from
    `entry_values`, an `Sql` expression read from the row, any other value a named parameter
    (`%(entry_<column>)s`). Returns the statement, without RETURNING, and its parameters."""
    fields = insert_fields(LedgerEntry)
    expressions, params = [], {}
    for field, db_type in zip(fields, cast_types(fields), strict=True):
        value = values[field.attname]
        if isinstance(value, Sql):
            expressions.append(str(value))
        else:
            name = f"entry_{field.attname}"
            expressions.append(f"%({name})s::{db_type}")
            (params[name],) = insert_params([field], {field.attname: value})
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    table = quote(LedgerEntry._meta.db_table)
    return f"INSERT INTO {table} ({columns}) SELECT {', '.join(expressions)} FROM {source}", params  # noqa: S608


def _check_active(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise MemberNotActive(member)


def points_adjust(
    *, member_id: int, points: int, reason: str, staff_user_id: int | None, idempotency_key: str | None = None
) -> LedgerEntry:
    """A staff adjustment (positive or negative) with a required reason."""
    entry, _replayed = points_adjust_replayable(
        member_id=member_id,
        points=points,
        reason=reason,
        staff_user_id=staff_user_id,
        idempotency_key=idempotency_key,
    )
    return entry


def points_adjust_replayable(
    *, member_id: int, points: int, reason: str, staff_user_id: int | None, idempotency_key: str | None
) -> tuple[LedgerEntry, bool]:
    """`points_adjust`, and whether the entry of `idempotency_key` was already there (a replay)."""
    reason = (reason or "").strip()
    if not reason:
        raise LedgerInvalid("reason: an adjustment needs a reason", field="reason")
    if not points:
        raise LedgerInvalid("points: an adjustment cannot be zero", field="points")
    limit = adjust_limit_for(user_id=staff_user_id)
    if limit is not None and abs(points) > limit:
        raise AdjustmentOverLimit(points=points, limit=limit)
    with transaction.atomic():
        # The key is checked under the member's lock: a concurrent retry waits, then finds the entry.
        member = member_lock(member_id=member_id)
        if idempotency_key:
            existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return existing, True
        cause = EntryCause(staff_user_id=staff_user_id, reason=reason, idempotency_key=idempotency_key)
        entry: LedgerEntry | None
        if points > 0:
            entry = points_credit(member=member, points=points, kind=LedgerEntry.Kind.ADJUST, cause=cause)
        else:
            entry = points_debit(member=member, points=-points, kind=LedgerEntry.Kind.ADJUST, cause=cause)
        assert entry is not None  # not `partial`: too few points is refused, never a shorter debit
        # Who, when and from where: the request's (core.audit); the member by external id, not name.
        audit_record(
            action=AuditEntry.Action.ADJUST,
            obj=member,
            object_repr=member.external_id,
            before={"balance": entry.balance_after - entry.points},
            after={"balance": entry.balance_after, "points": entry.points, "ledger_entry": entry.pk},
            reason=reason,
        )
        return entry, False


def ledger_sum(*, member_id: int) -> int:
    return LedgerEntry.objects.filter(member_id=member_id).aggregate(total=Sum("points"))["total"] or 0
