"""Activity events: record what a member did and award the points the earning rules give for it,
reverse what a refunded event earned, or simulate either without writing anything.

Idempotency: an event is stored once per idempotency key (a unique constraint), with the answer
given; the same key again returns that answer marked `replayed` and writes nothing, the same key
with another body is a 409. Concurrent senders of one key are serialised by the member's row lock
and the unique constraint: the first commits, the others find its row and replay it.

Locks, always in this order so concurrent events cannot deadlock: the event's member, the member
account of their sales rep, then each rule with a global budget (in priority order). A batch runs
in chunks of members, one transaction each: a chunk's members are locked together first, in id
order, then its events are written (one member's events in the order sent). A deadlock that
remains possible (two batches meeting on a sales rep's account and a budget) makes the database
roll one back, and that transaction is retried whole.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, DataError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from core.db import row_insert, rows_insert
from core.errors import InvalidInput
from core.text import MAX_JSON_DEPTH, NUL, NUL_MESSAGE, json_too_deep, nul_path
from loyalty.engine import (
    Beneficiary,
    CompiledRule,
    EventFacts,
    FactsError,
    Lookups,
    MemberFacts,
    event_facts,
    period_bounds,
    rule_compile,
    rules_compile,
    rules_evaluate,
)
from loyalty.models import (
    ActivityEvent,
    Badge,
    EarningRule,
    EventType,
    LedgerEntry,
    Member,
    ProgrammeSettings,
    Tier,
)
from loyalty.selectors.programme import programme_settings
from loyalty.services.ledger import (
    Credit,
    EntryCause,
    LedgerError,
    members_touch,
    points_credit_many,
    points_reverse,
    points_reversible,
)
from loyalty.services.members import member_upsert
from tenants.selectors import brand_timezone

BATCH_MAX = 1000  # events per batch: the API's parser reads it from here
IDEMPOTENCY_KEY_MAX = ActivityEvent._meta.get_field("idempotency_key").max_length
_MEMBER_COLUMNS = [field.attname for field in Member._meta.concrete_fields]
logger = logging.getLogger(__name__)
REFUND = "refund"
MAX_ATTRIBUTES_BYTES = 64 * 1024
# Levels of arrays and objects in an event's attributes, themselves included: within a batch's body
# (the body, its list of events, the event, the attributes), the API's MAX_JSON_DEPTH levels.
MAX_ATTRIBUTES_DEPTH = MAX_JSON_DEPTH - 3
_RETRIED_SQLSTATES = ("40P01", "40001")  # deadlock detected, serialization failure
_ATTEMPTS = 3


class EventError(Exception):
    """An event that cannot be recorded; nothing of it was written."""

    def __init__(self, *, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status

    def as_dict(self) -> dict:
        return {"field": self.field, "message": self.message, "status": self.status}


@dataclass(frozen=True)
class EventInput:
    member: str  # the member's external id
    type: str  # an EventType.code of this brand
    occurred_at: datetime  # timezone-aware
    attributes: dict
    idempotency_key: str


@dataclass(frozen=True)
class _Programme:
    """What recording events needs from the brand, read once per call (or once per batch)."""

    settings: ProgrammeSettings
    tz: tzinfo
    event_types: frozenset[str]
    rules: dict[str, list[CompiledRule]]
    tiers: dict[int, Tier]  # by id

    @property
    def tiers_exist(self) -> bool:
        return bool(self.tiers)

    badges: list[Badge]  # the brand's badges: the hooks ask nothing when none counts an event
    revision: tuple | None = None  # (ProgrammeRevision.revision, its table's oid) when compiled


class _ProgrammeToCheck(Exception):
    """The event was recorded with this process's compiled programme, which may be out of date:
    the member's lock query found another revision, or the input was refused (by an event type
    created since, say). The caller records it again with the current programme."""


@dataclass
class _Prefetched:
    """A batch's members (row-locked together, in id order) and idempotency keys already stored."""

    members: dict[str, Member]
    stored: dict[str, int]  # idempotency key -> event id


# --- entry points ----------------------------------------------------------------------------------


def event_record(*, data: EventInput) -> dict:
    """Record one event and award its points (or reverse a refunded event); see the module doc.

    The programme compiled by this process is used as it is, and checked by the member's lock
    query (which reads the revision too): an event asks no query of its own for it."""

    def run() -> dict:
        cached = _programme_cached()
        if cached is not None:
            try:
                return _record(data, cached, unverified=True)
            except _ProgrammeToCheck:
                pass
        return _record(data, _programme_current())

    return _retrying(run)


def events_record_batch(*, items: list[EventInput]) -> list[dict]:
    """Record up to BATCH_MAX events: one result per item, in order. A bad item gives
    `{"id": key, "error": {...}}` and writes nothing; the others still go through.

    Items are checked first. Then they go by chunks of members (`BATCH_CHUNK_MEMBERS`, in external id
    order; all of a member's events in one chunk), each in its own transaction
    (`_batch_chunk_record`): a concurrent batch sharing a member waits for that chunk only, not for
    the whole batch, so concurrent batches proceed side by side. A batch retried after a failure
    finds what its committed chunks wrote by their idempotency keys, and replays it. A chunk the
    database refused (after its retries) answers 503 for each of its items, logged, and the others
    go on: what the committed chunks wrote is answered, not hidden behind a 500.

    The chunks go in random order: two batches walking the same external id ranges in step would
    keep meeting on the members they share, one waiting for the other's chunk each time."""
    if len(items) > BATCH_MAX:
        raise EventError(field="events", message=f"at most {BATCH_MAX} events per batch, got {len(items)}")
    order = sorted(range(len(items)), key=lambda index: (str(items[index].member), index))
    programme = _programme_current()
    results: list[dict] = [{} for _ in items]
    checked: dict[int, tuple[dict, EventFacts]] = {}
    span = _plausible_span(simulated=False)
    for index in order:
        try:
            attributes = _input_check(items[index], key_required=True, span=span)
            checked[index] = (attributes, _facts(items[index], attributes, programme))
        except EventError as error:
            results[index] = {"id": items[index].idempotency_key, "error": error.as_dict()}
    chunks: list[list[int]] = []
    members: set[str] = set()
    for index in (index for index in order if index in checked):
        member = items[index].member
        if member not in members and len(members) % BATCH_CHUNK_MEMBERS == 0:
            chunks.append([])
        members.add(member)
        chunks[-1].append(index)
    random.shuffle(chunks)
    for chunk in chunks:
        try:
            written = _retrying(
                lambda chunk=chunk: _batch_chunk_record(
                    items=items, order=chunk, checked=checked, programme=programme
                )
            )
        except (DatabaseError, LedgerError):
            logger.exception("a chunk of %d events of a batch was not recorded", len(chunk))
            refused = EventError(
                field="events", message="not recorded (the database refused it): send it again", status=503
            ).as_dict()
            written = {index: {"id": items[index].idempotency_key, "error": refused} for index in chunk}
        for index, result in written.items():
            results[index] = result
    return results


# Members per transaction of a batch: bigger chunks pay fewer queries, smaller ones make a
# concurrent batch wait less.
BATCH_CHUNK_MEMBERS = 200


def _batch_chunk_record(
    *,
    items: list[EventInput],
    order: list[int],
    checked: dict[int, tuple[dict, EventFacts]],
    programme: _Programme,
) -> dict[int, dict]:
    """Record the checked items `order` (whole members' events, in order), in one transaction.

    The chunk's members are locked together, in id order. Then the plain events (a known active
    member, rules paying only the member, no global budget, a new key) are evaluated in Python, one
    after the other per member (period limits count what earlier items gave), and written
    set-based (`_batch_write`). The others (refunds, sales reps, budgets, new members, keys already
    seen, and whatever follows them for the same member) go one by one in savepoints, after; so do
    the plain ones if their set-based write fails. Returns each item's result."""
    results: dict[int, dict] = {}
    followups = _Followups()
    with transaction.atomic():
        prefetched = _batch_prefetch(
            external_ids={items[index].member for index in order},
            keys={items[index].idempotency_key for index in order},
            programme=programme,
        )
        plain, others = _batch_split(
            items=items, order=order, checked=checked, programme=programme, prefetched=prefetched
        )
        if plain:
            saved = {
                member.pk: (member.balance, member.points_owed) for member in prefetched.members.values()
            }
            try:
                with transaction.atomic():
                    written = _batch_write(
                        items=items,
                        indexes=plain,
                        checked=checked,
                        programme=programme,
                        prefetched=prefetched,
                    )
            except (IntegrityError, DataError):
                # A key stored meanwhile by a concurrent sender, a value out of range...: one by one.
                for member in prefetched.members.values():
                    member.balance, member.points_owed = saved[member.pk]
                position = {index: rank for rank, index in enumerate(order)}
                others = sorted(plain + others, key=position.__getitem__)
            else:
                for index, (result, event, credited) in written.items():
                    results[index] = result
                    followups.add(programme=programme, event=event, members=credited)
        for index in others:
            item = items[index]
            try:
                results[index] = _record(item, programme, prefetched, followups, checked=checked[index])
            except EventError as error:
                results[index] = {"id": item.idempotency_key, "error": error.as_dict()}
                # Its savepoint was rolled back: read the member again rather than trust memory.
                prefetched.members.pop(item.member, None)
        followups.run(programme=programme)
    return results


# Plain SQL with one array parameter each: the ORM's `IN (%s, %s, ...)` of up to 1,000 values cost
# more to build than to run.
_MEMBERS_LOCK_SQL = f"""
    SELECT {", ".join(connection.ops.quote_name(column) for column in _MEMBER_COLUMNS)}
    FROM {Member._meta.db_table} WHERE external_id = ANY(%s) ORDER BY id FOR UPDATE
"""  # noqa: S608 (names, not values)
_STORED_KEYS_SQL = (
    f"SELECT idempotency_key, id FROM {ActivityEvent._meta.db_table} WHERE idempotency_key = ANY(%s)"  # noqa: S608
)


def _batch_prefetch(*, external_ids: set[str], keys: set[str], programme: _Programme) -> _Prefetched:
    """The batch's members, row-locked together in id order (with their tiers from the programme),
    and which of its idempotency keys are stored already."""
    with connection.cursor() as cursor:
        cursor.execute(_MEMBERS_LOCK_SQL, [sorted(external_ids)])
        members = [_member_from_row(row, programme) for row in cursor.fetchall()]
        cursor.execute(_STORED_KEYS_SQL, [sorted(keys)])
        stored = dict(cursor.fetchall())
    return _Prefetched(members={member.external_id: member for member in members}, stored=stored)


def _batch_split(
    *,
    items: list[EventInput],
    order: list[int],
    checked: dict[int, tuple[dict, EventFacts]],
    programme: _Programme,
    prefetched: _Prefetched,
) -> tuple[list[int], list[int]]:
    """(plain items, written set-based; the others, one by one), each in the batch's order."""
    plain, others = [], []
    keys: set[str] = set()
    slow_members: set[str] = set()
    for index in order:
        if index not in checked:
            continue
        item = items[index]
        member = prefetched.members.get(item.member)
        is_plain = (
            member is not None
            and member.status == Member.Status.ACTIVE
            and item.member not in slow_members
            and item.type != REFUND
            and item.idempotency_key not in prefetched.stored
            and item.idempotency_key not in keys
            and all(
                c.rule.beneficiary == EarningRule.Beneficiary.MEMBER and c.rule.global_budget is None
                for c in programme.rules.get(item.type, [])
            )
        )
        keys.add(item.idempotency_key)
        if is_plain:
            plain.append(index)
        else:
            others.append(index)
            slow_members.add(item.member)
    return plain, others


def _batch_write(
    *,
    items: list[EventInput],
    indexes: list[int],
    checked: dict[int, tuple[dict, EventFacts]],
    programme: _Programme,
    prefetched: _Prefetched,
) -> dict[int, tuple[dict, ActivityEvent, list[tuple[Member, int]]]]:
    """Plain events (see `events_record_batch`), evaluated in order, written set-based: one INSERT
    of events, then `points_credit_many` (entries, lots, members' balances). Returns, per item, its
    answer, its event and who it credited."""
    usage = _BatchUsage(
        needed=[
            (compiled.rule, prefetched.members[items[index].member].pk, checked[index][1].local)
            for index in indexes
            for compiled in programme.rules.get(items[index].type, [])
        ]
    )
    balances: dict[int, int] = {}
    planned = []
    for index in indexes:
        data = items[index]
        attributes, facts = checked[index]
        member = prefetched.members[data.member]
        evaluation = rules_evaluate(
            rules=programme.rules.get(data.type, []),
            event=facts,
            member=_member_facts(member),
            beneficiaries=_beneficiaries(member, None),
            lookups=Lookups(usage=usage.get, budget_left=_no_budget, in_segment=_segment_check(member)),
            sales_rep_missing=_sales_rep_missing(member, None),
        )
        for award in evaluation.awards:
            usage.add(award.rule, member.pk, facts.local, award.points)
        balances[member.pk] = balances.get(member.pk, member.balance) + evaluation.points
        result = _result(data, programme, [_award_out(a) for a in evaluation.awards], balances[member.pk])
        planned.append((index, member, _event_row(data, member, attributes, facts, result), evaluation))
    rows_insert([event for _, _, event, _ in planned])
    now = timezone.now()
    credits = {
        index: _credits(event=event, awards=evaluation.awards, member=member, rep=None)
        for index, member, event, evaluation in planned
    }
    points_credit_many(
        credits=[credit for index, *_ in planned for credit in credits[index]],
        kind=LedgerEntry.Kind.EARN,
        at=now,
        programme=programme.settings,
    )
    idle = {member.pk for _, member, _, _ in planned} - {c.member.pk for cs in credits.values() for c in cs}
    members_touch(member_ids=idle, at=now)
    if any(balances[member.pk] != member.balance for _, member, _, _ in planned):
        raise LedgerError("a batch's answers and its ledger disagree on a balance")
    return {
        index: (event.result, event, _credited(member, credits[index])) for index, member, event, _ in planned
    }


def _no_budget(rule: EarningRule) -> int:
    raise AssertionError(f"rule {rule.pk} has a global budget: its events are not written set-based")


class _BatchUsage:
    """Points each rule with a period limit gave each member in a period: what the database holds,
    asked once for the whole batch, plus what earlier events of the batch gave."""

    def __init__(self, *, needed: list[tuple[EarningRule, int, datetime]]) -> None:
        keys = {
            (rule.pk, member_id, *period_bounds(period=rule.limit_period, local=local))
            for rule, member_id, local in needed
            if rule.limit_period and rule.limit_points is not None
        }
        self.used = _usage_many(sorted(keys, key=str))

    def get(self, rule: EarningRule, member_id: int | None, start: datetime, end: datetime) -> int:
        key = (rule.pk, member_id, start, end)
        if key not in self.used:
            self.used[key] = _usage(rule, member_id, start, end)
        return self.used[key]

    def add(self, rule: EarningRule, member_id: int, local: datetime, points: int) -> None:
        if rule.limit_period and rule.limit_points is not None:
            start, end = period_bounds(period=rule.limit_period, local=local)
            self.used[(rule.pk, member_id, start, end)] = self.get(rule, member_id, start, end) + points


def event_simulate(*, data: EventInput, include_rule: EarningRule | None = None) -> dict:
    """What `event_record` would answer now, with `"simulated": true` and a `trace` of every rule of
    the event's type (applied, or why not, inactive ones included). Writes nothing, takes no lock;
    the idempotency key may be empty. `include_rule` is tried as if it were live (the backoffice
    simulates a rule before it goes live)."""
    event_type = data.type if isinstance(data.type, str) else None
    programme = _programme_load(event_type=event_type, include_rule=include_rule, inactive=True)
    attributes = _input_check(data, key_required=False, span=_plausible_span(simulated=True))
    if data.idempotency_key:
        stored = ActivityEvent.objects.filter(idempotency_key=data.idempotency_key).first()
        if stored is not None:
            return {**_replay(stored, data, attributes), "simulated": True}
    facts = _facts(data, attributes, programme)
    member = Member.objects.select_related("tier").filter(external_id=data.member).first()
    if member is None:
        if not programme.settings.auto_create_members:
            raise _unknown_member(data.member)
        member = Member(external_id=data.member, joined_at=timezone.now())  # created by a real event
    _check_status(member)
    if data.type == REFUND:
        original = _original_event(attributes, member)
        plan = (
            []
            if original.reversed_at
            else _refund_simulate(original=original, member=member, at=timezone.now())
        )
        balance = member.balance + sum(points for _, points in plan)
        return _result(
            data,
            programme,
            [award for award, _ in plan],
            balance,
            refund=_refund_note(original, reversing=not original.reversed_at),
            simulated=True,
            trace=[],
        )
    rules = programme.rules.get(data.type, [])
    rep = _sales_rep_member(member=member, rules=rules, programme=programme, lock=False)
    evaluation = rules_evaluate(
        rules=rules,
        event=facts,
        member=_member_facts(member),
        beneficiaries=_beneficiaries(member, rep),
        lookups=Lookups(
            usage=_usage,
            budget_left=lambda rule: rule.global_budget - rule.budget_used,
            in_segment=_segment_check(member),
        ),
        sales_rep_missing=_sales_rep_missing(member, rep),
    )
    awards = [_award_out(award) for award in evaluation.awards]
    balance = member.balance + sum(a.points for a in evaluation.awards if a.beneficiary.kind == "member")
    return _result(data, programme, awards, balance, simulated=True, trace=evaluation.trace)


# --- recording -------------------------------------------------------------------------------------


def _record(
    data: EventInput,
    programme: _Programme,
    prefetched: _Prefetched | None = None,
    followups: _Followups | None = None,
    checked: tuple[dict, EventFacts] | None = None,
    unverified: bool = False,
) -> dict:
    """One event in its own transaction (a savepoint within a batch). Its tier and badge
    evaluations run at its end, or are left in the batch's `followups`. `checked`: its attributes
    and facts, when the batch checked them already. `unverified`: the programme is the process's
    cached one, not yet checked against the revision (`_ProgrammeToCheck`)."""
    if checked is None:
        try:
            attributes = _input_check(data, key_required=True, span=_plausible_span(simulated=False))
            checked = attributes, _facts(data, attributes, programme)
        except EventError:
            if unverified:
                raise _ProgrammeToCheck from None
            raise
    attributes, facts = checked
    own = followups is None
    followups = followups or _Followups()
    try:
        with transaction.atomic():
            member, stored_id, event_id = _member_locked(
                external_id=data.member,
                key=data.idempotency_key,
                programme=programme,
                prefetched=prefetched,
                unverified=unverified,
            )
            if stored_id is not None:
                return _replay(ActivityEvent.objects.get(pk=stored_id), data, attributes)
            if data.type == REFUND:
                result = _refund_apply(data, programme, member, attributes, facts, followups)
            else:
                result = _award_apply(
                    data, programme, member, attributes, facts, followups, event_id=event_id
                )
            if own:
                followups.run(programme=programme)
            return result
    except IntegrityError:
        # The same key, committed meanwhile by a concurrent sender (our insert waited for it), or
        # sent twice in one batch: the transaction above is rolled back, answer as a replay. The
        # member's object may show credits that were rolled back: a batch reads it again.
        if prefetched is not None:
            prefetched.members.pop(data.member, None)
        stored = ActivityEvent.objects.filter(idempotency_key=data.idempotency_key).first()
        if stored is None:
            raise
        return _replay(stored, data, attributes)


def _event_create(
    data: EventInput, member: Member, attributes: dict, facts: EventFacts, result: dict
) -> ActivityEvent:
    event = _event_row(data, member, attributes, facts, result)
    rows_insert([event])
    return event


def _event_row(
    data: EventInput, member: Member, attributes: dict, facts: EventFacts, result: dict
) -> ActivityEvent:
    """The event row (not saved), with the answer it gets (replayed on retries). Purchases and other
    events with an amount keep it (tiers count the amount spent); a refund's amount stays in its
    attributes."""
    money = facts.amount is not None and data.type != REFUND
    return ActivityEvent(
        idempotency_key=data.idempotency_key,
        member=member,
        type=data.type,
        occurred_at=data.occurred_at,
        attributes=attributes,
        amount=facts.amount.quantize(Decimal("0.01"), ROUND_HALF_UP) if money else None,
        currency=facts.currency if money else "",
        points_awarded=result["points_awarded"],
        result=result,
    )


def _award_apply(
    data: EventInput,
    programme: _Programme,
    member: Member,
    attributes: dict,
    facts: EventFacts,
    followups: _Followups,
    *,
    event_id: int | None = None,
) -> dict:
    """`event_id`: an id drawn for the event; the event row then goes in the statement writing its
    credits (`points_credit_many`'s `with_rows`), not in one of its own."""
    rules = programme.rules.get(data.type, [])
    rep = _sales_rep_member(member=member, rules=rules, programme=programme, lock=True)

    def budget_left(rule: EarningRule) -> int:
        budget, used = (
            EarningRule.objects.select_for_update()
            .values_list("global_budget", "budget_used")
            .get(pk=rule.pk)
        )
        return budget - used if budget is not None else 2**31 - 1

    evaluation = rules_evaluate(
        rules=rules,
        event=facts,
        member=_member_facts(member),
        beneficiaries=_beneficiaries(member, rep),
        lookups=Lookups(usage=_usage, budget_left=budget_left, in_segment=_segment_check(member)),
        sales_rep_missing=_sales_rep_missing(member, rep),
    )
    balance = member.balance + sum(a.points for a in evaluation.awards if a.beneficiary.kind == "member")
    result = _result(data, programme, [_award_out(award) for award in evaluation.awards], balance)
    event = _event_row(data, member, attributes, facts, result)
    if event_id is None:  # a batch's prefetched member: no id was drawn
        rows_insert([event])
    else:
        event.pk = event_id  # written with its credits, or alone below
    now = timezone.now()
    for award in evaluation.awards:
        if award.rule.global_budget is not None:
            # The row is locked since budget_left read it; the database refuses any overspend.
            EarningRule.objects.filter(pk=award.rule.pk).update(budget_used=F("budget_used") + award.points)
    credits = _credits(event=event, awards=evaluation.awards, member=member, rep=rep)
    unsaved = [] if event_id is None else [event]
    if credits:
        points_credit_many(
            credits=credits,
            kind=LedgerEntry.Kind.EARN,
            at=now,
            programme=programme.settings,
            with_rows=unsaved,
        )
    else:
        if unsaved:
            row_insert(event)
        members_touch(member_ids=[member.pk], at=now)
    followups.add(programme=programme, event=event, members=_credited(member, credits))
    return result


def _credits(*, event: ActivityEvent, awards: list[Any], member: Member, rep: Member | None) -> list[Credit]:
    return [
        Credit(
            member=member if award.beneficiary.kind == "member" else rep,
            points=award.points,
            cause=EntryCause(event_id=event.pk, rule_id=award.rule.pk, explanation=award.explanation),
        )
        for award in awards
    ]


def _credited(member: Member, credits: list[Credit]) -> list[tuple[Member, int]]:
    """The event's member first, then who else the credits paid, with the points each got."""
    credited = {member.pk: (member, 0)}
    for credit in credits:
        target, points = credited.get(credit.member.pk, (credit.member, 0))
        credited[target.pk] = (target, points + credit.points)
    return list(credited.values())


class _Followups:
    """Tier and badge evaluations that recorded events call for, run once per member: at the end of
    a single event, or of a whole batch (a member's many events of one batch are evaluated once, so
    a tier reached by an event applies to the events of the next call). Run in the recording
    transaction, where the members are locked."""

    def __init__(self) -> None:
        self.members: dict[int, Member] = {}
        self.tiers: set[int] = set()
        self.events: dict[int, list[ActivityEvent]] = {}

    def add(self, *, programme: _Programme, event: ActivityEvent, members: list[tuple[Member, int]]) -> None:
        """`members`: the event's member first, then who else it credited, with the points it gave."""
        from loyalty.services.tiers import tier_metric_moves

        for index, (member, points) in enumerate(members):
            self.members[member.pk] = member
            moves = programme.tiers_exist and tier_metric_moves(
                programme=programme.settings,
                # Another beneficiary (the sales rep) did not do the event: only points count for them.
                event_type=event.type if index == 0 else "",
                has_amount=event.amount is not None,
                points=points,
            )
            if moves:
                self.tiers.add(member.pk)
        self.events.setdefault(members[0][0].pk, []).append(event)

    def run(self, *, programme: _Programme) -> None:
        from loyalty.services.badges import badges_evaluate
        from loyalty.services.tiers import tier_evaluate

        at = timezone.now()
        for pk in sorted(self.members):
            member = self.members[pk]
            if pk in self.tiers:
                tier_evaluate(member=member, at=at, programme=programme.settings, tiers_exist=True)
            if pk in self.events:
                badges_evaluate(member=member, events=self.events[pk], badges=programme.badges)


# --- refunds ---------------------------------------------------------------------------------------


def _original_event(attributes: dict, member: Member, *, lock: bool = False) -> ActivityEvent:
    key = attributes.get("original_event")
    field = "attributes.original_event"
    if not isinstance(key, str) or not key:
        raise EventError(field=field, message="is required: the idempotency key of the event refunded")
    query = ActivityEvent.objects.select_for_update() if lock else ActivityEvent.objects
    original = query.filter(idempotency_key=key).first()
    if original is None:
        raise EventError(field=field, message=f"no event with idempotency key '{key}'", status=404)
    if original.type == REFUND:
        raise EventError(field=field, message="is a refund itself; refund the original event", status=422)
    if original.member_id != member.pk:
        raise EventError(field=field, message="is an event of another member", status=422)
    return original


def _earn_entries(original: ActivityEvent) -> list[LedgerEntry]:
    return list(original.entries.filter(kind=LedgerEntry.Kind.EARN).select_related("rule").order_by("id"))


def _reversal_out(*, entry: LedgerEntry, target: Member, kind: str, explanation: dict) -> dict:
    taken = explanation["taken_back"]
    return {
        "beneficiary": {"kind": kind, "member": target.external_id},
        "points": -taken,
        "rule": {"id": entry.rule_id, "name": entry.rule.name} if entry.rule_id else None,
        "explanation": explanation,
    }


def _reversal_cause(original: ActivityEvent, entry: LedgerEntry) -> dict:
    return {
        "refund_of": original.idempotency_key,
        "reverses_entry": entry.pk,
        "rule": {"id": entry.rule_id, "name": entry.rule.name} if entry.rule_id else None,
    }


def _refund_simulate(*, original: ActivityEvent, member: Member, at: datetime) -> list[tuple[dict, int]]:
    """What refunding `original` would take back now, as (award, points to the member) per entry."""
    entries = _earn_entries(original)
    targets = {member.pk: member, **Member.objects.in_bulk({e.member_id for e in entries} - {member.pk})}
    notes: dict[int, dict] = {}
    for target_id, target in targets.items():
        own = [entry for entry in entries if entry.member_id == target_id]
        notes.update(
            zip([e.pk for e in own], points_reversible(member=target, entries=own, at=at), strict=True)
        )
    out = []
    for entry in entries:
        kind = "member" if entry.member_id == member.pk else "sales_rep"
        explanation = {**_reversal_cause(original, entry), **notes[entry.pk]}
        award = _reversal_out(
            entry=entry, target=targets[entry.member_id], kind=kind, explanation=explanation
        )
        out.append((award, award["points"] if kind == "member" else 0))
    return out


def _refund_apply(
    data: EventInput,
    programme: _Programme,
    member: Member,
    attributes: dict,
    facts: EventFacts,
    followups: _Followups,
) -> dict:
    """Reverse what the original event earned, each earn entry by `points_reverse` (its own lot
    first, pending or not). The refund event is stored first (entries point to it), its answer once
    the ledger has said what it took."""
    original = _original_event(attributes, member, lock=True)
    note = _refund_note(original, reversing=original.reversed_at is None)
    if original.reversed_at is not None:
        result = _result(data, programme, [], member.balance, refund=note)
        _event_create(data, member, attributes, facts, result)
        return result
    entries = _earn_entries(original)
    # The other beneficiaries (the sales rep) locked after the member, in id order.
    others = (
        Member.objects.select_for_update(of=("self",))
        .filter(pk__in={entry.member_id for entry in entries} - {member.pk})
        .order_by("pk")
    )
    targets = {member.pk: member, **{other.pk: other for other in others}}
    event = _event_create(data, member, attributes, facts, _result(data, programme, [], member.balance))
    now = timezone.now()
    awards, reversed_points = [], {pk: 0 for pk in targets}
    for entry in entries:
        target = targets[entry.member_id]
        cause = _reversal_cause(original, entry)
        debit, reversal = points_reverse(
            member=target,
            entry=entry,
            cause=EntryCause(event_id=event.pk, rule_id=entry.rule_id, explanation=cause),
            at=now,
        )
        explanation = {**cause, **reversal}
        kind = "member" if target.pk == member.pk else "sales_rep"
        awards.append(_reversal_out(entry=entry, target=target, kind=kind, explanation=explanation))
        reversed_points[target.pk] += explanation["taken_back"]
        rule = entry.rule
        if debit and rule is not None and rule.global_budget is not None:
            # Points taken back return to the rule's budget.
            EarningRule.objects.filter(pk=rule.pk).update(
                budget_used=Greatest(F("budget_used") - explanation["taken_back"], 0)
            )
    result = _result(data, programme, awards, member.balance, refund=note)
    ActivityEvent.objects.filter(pk=event.pk).update(result=result, points_awarded=result["points_awarded"])
    original.reversed_at = now
    original.save(update_fields=["reversed_at"])
    followups.add(
        programme=programme,
        event=event,
        members=[(target, -reversed_points[pk]) for pk, target in targets.items()],
    )
    return result


def _refund_note(original: ActivityEvent, *, reversing: bool = False) -> dict:
    return {
        "original_event": original.idempotency_key,
        "already_reversed": bool(original.reversed_at) and not reversing,
    }


# --- inputs, members, lookups ------------------------------------------------------------------------


# Per schema: the brand's live programme, with the revision it was compiled at (revision, oid of
# the revision table). The table's oid tells a brand dropped and created again under the same
# schema name from the one cached.
_PROGRAMMES: dict[str, _Programme] = {}
_REVISION_SQL = "SELECT revision, 'loyalty_programmerevision'::regclass::oid FROM loyalty_programmerevision"


def _programme_current() -> _Programme:
    """The live programme of the current brand, compiled once per process and programme revision
    (`ProgrammeRevision`: triggers move it on every change), so a call asks one small query
    instead of four and compiles no rule. The timezone is the brand's, read per call."""
    with connection.cursor() as cursor:
        cursor.execute(_REVISION_SQL)
        revision = cursor.fetchone()
    schema = connection.schema_name
    cached = _PROGRAMMES.get(schema)
    if cached is None or revision is None or cached.revision != revision:
        # The revision is read before the programme: a change committed in between is reloaded next time.
        cached = dataclasses.replace(_programme_load(event_type=None), revision=revision)
        _PROGRAMMES[schema] = cached
    return dataclasses.replace(cached, tz=brand_timezone())


def _programme_cached() -> _Programme | None:
    """The programme this process last compiled for the current brand, unchecked (no query); None
    if there is none."""
    cached = _PROGRAMMES.get(connection.schema_name)
    if cached is None or cached.revision is None:
        return None
    return dataclasses.replace(cached, tz=brand_timezone())


def _programme_load(
    *, event_type: str | None, include_rule: EarningRule | None = None, inactive: bool = False
) -> _Programme:
    """With `inactive`, inactive rules too (the simulator says why they did not apply)."""
    rules = EarningRule.objects.all() if inactive else EarningRule.objects.filter(is_active=True)
    types = EventType.objects.all()
    if event_type is not None:
        rules, types = rules.filter(event_type=event_type), types.filter(code=event_type)
    compiled: dict[str, list[CompiledRule]] = {}
    for one in rules_compile(rule for rule in rules if include_rule is None or rule.pk != include_rule.pk):
        compiled.setdefault(one.rule.event_type, []).append(one)
    if include_rule is not None and include_rule.event_type == event_type:
        listed = compiled.setdefault(include_rule.event_type, [])
        listed.append(rule_compile(include_rule, force_active=True))
        listed.sort(key=lambda c: (c.rule.priority, c.rule.pk or 0))
    # A rule's event type exists (the backoffice keeps a type that rules use): no need to ask.
    known = {event_type} if event_type in compiled else set(types.values_list("code", flat=True))
    return _Programme(
        settings=programme_settings(),
        tz=brand_timezone(),
        event_types=frozenset(known),
        rules=compiled,
        tiers={tier.pk: tier for tier in Tier.objects.all()},
        badges=list(Badge.objects.filter(event_type=event_type) if event_type else Badge.objects.all()),
    )


def _plausible_span(*, simulated: bool) -> tuple[datetime, datetime]:
    """The dates an event may have now: at most EVENTS_MAX_AGE_DAYS ago, at most
    EVENTS_MAX_AHEAD_SECONDS ahead of this server's clock (the sender's may be a little fast). A
    simulated event may be as far in the future as in the past (a rule tried before its period)."""
    now = timezone.now()
    age = timedelta(days=settings.EVENTS_MAX_AGE_DAYS)
    return now - age, now + (age if simulated else timedelta(seconds=settings.EVENTS_MAX_AHEAD_SECONDS))


def _input_check(data: EventInput, *, key_required: bool, span: tuple[datetime, datetime]) -> dict:
    """The event's own fields checked (`span`: the plausible dates, `_plausible_span`); returns its
    attributes as they will be stored (JSON). Text holding a NUL character, which PostgreSQL refuses,
    is refused here, before any query."""
    key = data.idempotency_key
    if not isinstance(key, str) or len(key) > IDEMPOTENCY_KEY_MAX or (key_required and not key):
        raise EventError(
            field="idempotency_key", message=f"is required, at most {IDEMPOTENCY_KEY_MAX} characters"
        )
    if NUL in key:
        raise EventError(field="idempotency_key", message=NUL_MESSAGE)
    member = data.member
    if not isinstance(member, str) or not member or member != member.strip() or len(member) > 64:
        raise EventError(
            field="member", message="is required: the member's external id (at most 64 characters)"
        )
    if NUL in member:
        raise EventError(field="member", message=NUL_MESSAGE)
    if not isinstance(data.type, str) or not data.type:
        raise EventError(field="type", message="is required: an event type code such as 'purchase'")
    if NUL in data.type:
        raise EventError(field="type", message=NUL_MESSAGE)
    occurred_at = data.occurred_at
    if not isinstance(occurred_at, datetime) or timezone.is_naive(occurred_at):
        raise EventError(
            field="occurred_at", message="must be an ISO 8601 date-time with its timezone offset"
        )
    # Compared, not converted: a date at the edge of the range (year 1 at +14:00) has no UTC time.
    if occurred_at < span[0]:
        raise EventError(
            field="occurred_at", message=f"is more than {settings.EVENTS_MAX_AGE_DAYS} days in the past"
        )
    if occurred_at > span[1]:
        raise EventError(
            field="occurred_at",
            message=f"is too far in the future: at most {span[1]:%Y-%m-%dT%H:%M:%S}Z (the server's clock)",
        )
    if not isinstance(data.attributes, dict):
        raise EventError(field="attributes", message="must be an object")
    try:
        encoded = json.dumps(data.attributes, cls=DjangoJSONEncoder, allow_nan=False)
    except RecursionError:
        encoded = None  # nested far too deep
    except (TypeError, ValueError):
        raise EventError(field="attributes", message="must hold JSON values only") from None
    if encoded is None or json_too_deep(encoded, limit=MAX_ATTRIBUTES_DEPTH):
        raise EventError(
            field="attributes",
            message=f"nested deeper than {MAX_ATTRIBUTES_DEPTH} levels of arrays and objects",
        )
    if len(encoded) > MAX_ATTRIBUTES_BYTES:
        raise EventError(field="attributes", message=f"at most {MAX_ATTRIBUTES_BYTES // 1024} KB")
    if "\\u0000" in encoded:  # JSON's escape of NUL, or a backslash before "u0000" in a string
        path = nul_path(data.attributes, path="attributes")
        if path is not None:
            raise EventError(field=path, message=NUL_MESSAGE)
    return json.loads(encoded)


def _facts(data: EventInput, attributes: dict, programme: _Programme) -> EventFacts:
    if data.type not in programme.event_types:
        raise EventError(field="type", message=f"'{data.type}' is not an event type of this programme")
    try:
        return event_facts(
            type=data.type,
            occurred_at=data.occurred_at,
            attributes=attributes,
            tz=programme.tz,
            currency=programme.settings.currency,
        )
    except FactsError as error:
        raise EventError(field=error.field, message=error.message) from None


def _unknown_member(external_id: str) -> EventError:
    return EventError(field="member", message=f"no member with external id '{external_id}'", status=404)


def _check_status(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise EventError(
            field="member",
            message=f"member '{member.external_id}' is {member.status}: no event is recorded",
            status=422,
        )


class _Locked(NamedTuple):
    member: Member | None  # row-locked; None only from `_member_lock_row`, for an unknown member
    stored_id: int | None  # the event already stored under the idempotency key
    event_id: int | None  # an id drawn for the event to store (None for a batch's prefetched members)


def _member_locked(
    *,
    external_id: str,
    key: str,
    programme: _Programme,
    prefetched: _Prefetched | None,
    unverified: bool = False,
) -> _Locked:
    """The event's member, row-locked (with their tier), created first if the programme allows it;
    the id of the event already stored under `key`, if any; an id for the event (all asked in the
    same query, as is the programme's revision when `unverified`)."""
    if prefetched is not None and external_id in prefetched.members:
        member = prefetched.members[external_id]
        stored_id = prefetched.stored.get(key)
        if stored_id is None:
            _check_status(member)
        return _Locked(member, stored_id, None)
    locked = _member_lock_row(external_id=external_id, key=key, programme=programme, unverified=unverified)
    if locked.member is None:
        if locked.stored_id is not None:  # the key is taken, by another member's event: a conflict
            return locked._replace(member=Member(external_id=external_id))
        if not programme.settings.auto_create_members:
            raise _unknown_member(external_id)
        try:
            member_upsert(external_id=external_id, data={}, source="event")
        except InvalidInput as error:
            raise EventError(field="member", message=str(error)) from None
        locked = _member_lock_row(external_id=external_id, key=key, programme=programme)
    if locked.stored_id is None:
        _check_status(locked.member)
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


def _member_lock_row(
    *, external_id: str, key: str, programme: _Programme, unverified: bool = False
) -> _Locked:
    """The member (with their tier from the programme) or None, the event stored under `key` or
    None, an id for the event, in one query. With `unverified`, a programme compiled at another
    revision than the one read raises `_ProgrammeToCheck`."""
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_LOCK_SQL, [key, external_id])
        stored_id, revision, revision_table, event_id, *values = cursor.fetchone()
    if unverified and (revision is None or programme.revision != (revision, revision_table)):
        raise _ProgrammeToCheck
    member = None if values[0] is None else _member_from_row(values, programme)
    return _Locked(member, stored_id, event_id)


def _member_from_row(values: list | tuple, programme: _Programme) -> Member:
    """A member read by plain SQL (`_MEMBER_COLUMNS`), with their tier from the programme."""
    member = Member.from_db(connection.alias, _MEMBER_COLUMNS, values)
    if member.tier_id is not None:
        member.tier = programme.tiers.get(member.tier_id) or Tier.objects.get(pk=member.tier_id)
    return member


def _sales_rep_member(
    *, member: Member, rules: list[CompiledRule], programme: _Programme, lock: bool
) -> Member | None:
    """The member account of the member's sales rep (created as `staff:<username>` when recording),
    looked up only when a rule pays sales reps."""
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


def _sales_rep_missing(member: Member, rep: Member | None) -> str:
    if member.sales_rep_id is None or rep is None:
        return "the member has no sales rep"
    return f"the sales rep's member account is {rep.status}"


def _beneficiaries(member: Member, rep: Member | None) -> dict[str, Beneficiary | None]:
    def facts(who: Member, kind: str) -> Beneficiary:
        multiplier = who.tier.earn_multiplier if who.tier_id else Decimal(1)
        return Beneficiary(
            kind=kind, member_id=who.pk, external_id=who.external_id, tier_multiplier=multiplier
        )

    active_rep = rep is not None and rep.status == Member.Status.ACTIVE
    return {"member": facts(member, "member"), "sales_rep": facts(rep, "sales_rep") if active_rep else None}


def _member_facts(member: Member) -> MemberFacts:
    return MemberFacts(
        id=member.pk,
        external_id=member.external_id,
        kind=member.kind,
        tier_code=member.tier.code if member.tier_id else "",
        tags=tuple(member.tags or ()),
        is_vip=member.is_vip,
    )


# Points a rule gave a member for events that occurred in a period, less what refunds took back
# (a reversal counts on the day of the event it reverses). Plain SQL: this runs for every event of
# a rule with a period limit, and building it through the ORM cost more than running it.
_USAGE_OF = """
    SELECT COALESCE(SUM(e.points), 0)
    FROM loyalty_ledgerentry e
    LEFT JOIN loyalty_ledgerentry r ON r.id = e.reverses_id
    JOIN loyalty_activityevent ev ON ev.id = COALESCE(r.event_id, e.event_id)
    WHERE e.rule_id = {rule} AND e.member_id = {member} AND ev.occurred_at >= {lo} AND ev.occurred_at < {hi}
"""
# One (rule, member, period), a single event's case: plain parameters, so that the prepared
# statement keeps its generic plan (see ledger._MEMBER_CHANGE_SQL).
_USAGE_ONE_SQL = _USAGE_OF.format(rule="%s", member="%s", lo="%s", hi="%s")
# Many at once (a batch), one row each, in the order given, as arrays: one statement whatever
# their number.
_USAGE_MANY_SQL = f"""
    SELECT ({_USAGE_OF.format(rule="v.rule_id", member="v.member_id", lo="v.lo", hi="v.hi")})
    FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[])
        WITH ORDINALITY AS v(rule_id, member_id, lo, hi, i)
    ORDER BY v.i
"""  # noqa: S608 (no value in the text)


def _usage(rule: EarningRule, member_id: int | None, start: datetime, end: datetime) -> int:
    if member_id is None:
        return 0
    return _usage_many([(rule.pk, member_id, start, end)])[(rule.pk, member_id, start, end)]


def _usage_many(keys: list[tuple[int, int, datetime, datetime]]) -> dict[tuple, int]:
    """{(rule id, member id, start, end): points} in one query."""
    if not keys:
        return {}
    with connection.cursor() as cursor:
        if len(keys) == 1:
            cursor.execute(_USAGE_ONE_SQL, list(keys[0]))
        else:
            cursor.execute(_USAGE_MANY_SQL, [list(column) for column in zip(*keys, strict=True)])
        return {key: row[0] for key, row in zip(keys, cursor.fetchall(), strict=True)}


def _segment_check(member: Member):
    """Segment membership by segment name, asked only when a rule has a segment condition."""

    def in_segment(name: str) -> bool:
        from loyalty.models import Segment
        from loyalty.selectors.segments import segment_members

        segment = Segment.objects.filter(name=name).first()
        return bool(member.pk and segment and segment_members(segment=segment).filter(pk=member.pk).exists())

    return in_segment


# --- answers ---------------------------------------------------------------------------------------


def _replay(stored: ActivityEvent, data: EventInput, attributes: dict) -> dict:
    same = (
        stored.result.get("member") == data.member
        and stored.type == data.type
        and stored.occurred_at == data.occurred_at
        and stored.attributes == attributes
    )
    if not same:
        raise EventError(
            field="idempotency_key", message="was already used for a different event", status=409
        )
    return {**stored.result, "replayed": True}


def _award_out(award: Any) -> dict:
    return {
        "beneficiary": {"kind": award.beneficiary.kind, "member": award.beneficiary.external_id},
        "points": award.points,
        "rule": {"id": award.rule.pk, "name": award.rule.name},
        "explanation": award.explanation,
    }


def _result(data: EventInput, programme: _Programme, awards: list[dict], balance: int, **extra: Any) -> dict:
    return {
        "id": data.idempotency_key,
        "member": data.member,
        "type": data.type,
        "occurred_at": data.occurred_at.astimezone(programme.tz).isoformat(),
        "points_awarded": sum(award["points"] for award in awards),
        "awards": awards,
        "balance": balance,
        "replayed": False,
        **extra,
    }


def _retrying(work: Any) -> Any:
    """Run `work` again when the database chose it as a deadlock victim (it was rolled back whole);
    inside a caller's transaction the error goes up to that caller."""
    for attempt in range(_ATTEMPTS):
        try:
            return work()
        except OperationalError as error:
            retry = getattr(error.__cause__, "sqlstate", None) in _RETRIED_SQLSTATES
            if not retry or connection.in_atomic_block or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
