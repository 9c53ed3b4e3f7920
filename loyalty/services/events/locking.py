"""Stage 3, member locking: the event's member row-locked (created first if the programme allows
it), the event already stored under its key, an id for the event; for a batch chunk, all its
members locked together in id order; the member account of a sales rep a rule pays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.errors import InvalidInput, NotFound, Refused
from loyalty.engine import CompiledRule
from loyalty.models import ActivityEvent, EarningRule, Member, Tier
from loyalty.services.events.answers import REFUSED
from loyalty.services.events.programme import Programme, ProgrammeToCheck
from loyalty.services.members import member_upsert

if TYPE_CHECKING:
    from loyalty.services.events.context import Context

_MEMBER_COLUMNS = [field.attname for field in Member._meta.concrete_fields]


@dataclass
class Prefetched:
    """A batch's members (row-locked together, in id order) and idempotency keys already stored."""

    members: dict[str, Member]
    stored: dict[str, int]  # idempotency key -> event id


class Locked(NamedTuple):
    member: Member | None  # row-locked; None only from `_member_lock_row`, for an unknown member
    stored_id: int | None  # the event already stored under the idempotency key
    event_id: int | None  # an id drawn for the event to store (None for a batch's prefetched members)


# Plain SQL with one array parameter each: the ORM's `IN (%s, %s, ...)` of up to 1,000 values cost
# more to build than to run.
_MEMBERS_LOCK_SQL = f"""
    SELECT {", ".join(connection.ops.quote_name(column) for column in _MEMBER_COLUMNS)}
    FROM {Member._meta.db_table} WHERE external_id = ANY(%s) ORDER BY id FOR UPDATE
"""  # noqa: S608 (names, not values)
_STORED_KEYS_SQL = (
    f"SELECT idempotency_key, id FROM {ActivityEvent._meta.db_table} WHERE idempotency_key = ANY(%s)"  # noqa: S608
)


def members_prefetch(*, external_ids: set[str], keys: set[str], programme: Programme) -> Prefetched:
    """A batch chunk's members, row-locked together in id order (with their tiers from the
    programme), and which of its idempotency keys are stored already."""
    with connection.cursor() as cursor:
        cursor.execute(_MEMBERS_LOCK_SQL, [sorted(external_ids)])
        members = [_member_from_row(row, programme) for row in cursor.fetchall()]
        cursor.execute(_STORED_KEYS_SQL, [sorted(keys)])
        stored = dict(cursor.fetchall())
    return Prefetched(members={member.external_id: member for member in members}, stored=stored)


def unknown_member(external_id: str) -> NotFound:
    return NotFound(f"no member with external id '{external_id}'", field="member")


def status_check(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise Refused(
            f"member '{member.external_id}' is {member.status}: no event is recorded",
            field="member",
            code=REFUSED,
        )


def member_locked(*, external_id: str, key: str, ctx: Context) -> Locked:
    """The event's member, row-locked (with their tier), created first if the programme allows it;
    the id of the event already stored under `key`, if any; an id for the event (all asked in the
    same query, as is the programme's revision when `ctx.unverified`)."""
    prefetched, programme = ctx.prefetched, ctx.programme
    if prefetched is not None and external_id in prefetched.members:
        member = prefetched.members[external_id]
        stored_id = prefetched.stored.get(key)
        if stored_id is None:
            status_check(member)
        return Locked(member, stored_id, None)
    locked = _member_lock_row(
        external_id=external_id, key=key, programme=programme, unverified=ctx.unverified
    )
    if locked.member is None:
        if locked.stored_id is not None:  # the key is taken, by another member's event: a conflict
            return locked._replace(member=Member(external_id=external_id))
        if not programme.settings.auto_create_members:
            raise unknown_member(external_id)
        try:
            member_upsert(external_id=external_id, data={}, source="event")
        except InvalidInput as error:
            raise InvalidInput(str(error), field="member") from None
        locked = _member_lock_row(external_id=external_id, key=key, programme=programme)
    assert locked.member is not None
    if locked.stored_id is None:
        status_check(locked.member)
    if prefetched is not None:
        prefetched.members[external_id] = locked.member
    return locked


# Plain SQL: the ORM's compilation of this query cost more than running it, on every event.
_MEMBER_LOCK_SQL = f"""
    SELECT (SELECT id FROM {ActivityEvent._meta.db_table} WHERE idempotency_key = %s),
           (SELECT revision FROM loyalty_programmerevision), 'loyalty_programmerevision'::regclass::oid,
           nextval(pg_get_serial_sequence('{ActivityEvent._meta.db_table}', 'id')),
           m.*
    FROM (SELECT 1) AS one
    LEFT JOIN (
        SELECT {", ".join(connection.ops.quote_name(column) for column in _MEMBER_COLUMNS)}
        FROM {Member._meta.db_table} WHERE external_id = %s FOR UPDATE
    ) AS m ON true
"""  # noqa: S608 (names, not values)


def _member_lock_row(*, external_id: str, key: str, programme: Programme, unverified: bool = False) -> Locked:
    """The member (with their tier from the programme) or None, the event stored under `key` or
    None, an id for the event, in one query. With `unverified`, a programme compiled at another
    revision than the one read raises `ProgrammeToCheck`."""
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_LOCK_SQL, [key, external_id])
        stored_id, revision, revision_table, event_id, *values = cursor.fetchone()
    if unverified and (revision is None or programme.revision != (revision, revision_table)):
        raise ProgrammeToCheck
    member = None if values[0] is None else _member_from_row(values, programme)
    return Locked(member, stored_id, event_id)


def _member_from_row(values: list | tuple, programme: Programme) -> Member:
    """A member read by plain SQL (`_MEMBER_COLUMNS`), with their tier from the programme."""
    member = Member.from_db(connection.alias, _MEMBER_COLUMNS, values)
    if member.tier_id is not None:
        member.tier = programme.tiers.get(member.tier_id) or Tier.objects.get(pk=member.tier_id)
    return member


def sales_rep_member(
    *, member: Member, rules: list[CompiledRule], programme: Programme, lock: bool
) -> Member | None:
    """The member account of the member's sales rep (created as `staff:<username>` when recording),
    looked up only when a rule pays sales reps; locked after the member when `lock`."""
    if member.sales_rep_id is None or not any(
        c.rule.beneficiary == EarningRule.Beneficiary.SALES_REP for c in rules
    ):
        return None
    query = Member.objects.select_related("tier").filter(user_id=member.sales_rep_id)
    if lock:
        query = query.select_for_update(of=("self",))
    rep = query.first()
    if rep is None:
        user = get_user_model().objects.get(pk=member.sales_rep_id)
        external_id = f"staff:{user.get_username()}"[:64]
        if not lock:  # simulating: the account recording would create
            return Member(external_id=external_id, user=user, joined_at=timezone.now())
        try:
            with transaction.atomic():
                Member.objects.create(
                    external_id=external_id,
                    user=user,
                    first_name=user.first_name[:80],
                    last_name=user.last_name[:80],
                    email=user.email,
                    joined_at=timezone.now(),
                    overdraft_limit=programme.settings.overdraft_limit,
                )
        except IntegrityError:
            # Created by a concurrent event, or a member with that external id exists: link it.
            Member.objects.filter(external_id=external_id, user__isnull=True).update(user=user)
        rep = query.first()
    if rep is not None and rep.pk == member.pk:
        return member
    return rep
