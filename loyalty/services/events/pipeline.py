"""The entry points: one event, a batch, a simulation; each runs the stages in order (see the
package's doc), passing them one `Context`."""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, DataError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from core.errors import DomainError, InvalidInput
from loyalty.models import ActivityEvent, EarningRule, Member
from loyalty.services.events.answers import (
    NotRecorded,
    award_answer,
    batch_answers,
    error_answer,
    replay,
)
from loyalty.services.events.checks import (
    BATCH_MAX,
    REFUND,
    Checked,
    EventInput,
    event_check,
    facts_read,
    fields_check,
    plausible_span,
)
from loyalty.services.events.context import Context
from loyalty.services.events.evaluation import (
    awards_evaluate,
    batch_evaluate,
    budget_locked,
    budget_read,
    usage,
)
from loyalty.services.events.locking import (
    member_locked,
    members_prefetch,
    sales_rep_member,
    status_check,
    unknown_member,
)
from loyalty.services.events.programme import (
    ProgrammeToCheck,
    programme_cached,
    programme_current,
    programme_load,
)
from loyalty.services.events.refunds import refund_apply, refund_simulate
from loyalty.services.events.writing import Followups, award_write, batch_write
from loyalty.services.ledger import LedgerError

logger = logging.getLogger(__name__)
# Members per transaction of a batch: bigger chunks pay fewer queries, smaller ones make a
# concurrent batch wait less.
BATCH_CHUNK_MEMBERS = 200
_RETRIED_SQLSTATES = ("40P01", "40001")  # deadlock detected, serialization failure
_ATTEMPTS = 3
T = TypeVar("T")


def event_record(*, data: EventInput) -> dict:
    """Record one event and award its points (or reverse a refunded event); see the package doc.

    The programme compiled by this process is used as it is, and checked by the member's lock
    query (which reads the revision too): an event asks no query of its own for it."""

    def run() -> dict:
        span = plausible_span(simulated=False)
        cached = programme_cached()
        if cached is not None:
            try:
                return _record(
                    data, Context(programme=cached, span=span, followups=Followups(), unverified=True)
                )
            except ProgrammeToCheck:
                pass
        return _record(data, Context(programme=programme_current(), span=span, followups=Followups()))

    return _retrying(run)


def events_record_batch(*, items: list[EventInput]) -> list[dict]:
    """Record up to BATCH_MAX events: one result per item, in order. A bad item gives
    `{"id": key, "error": <its DomainError>}` (the API renders it) and writes nothing; the others
    still go through.

    Items are checked first. Then they go by chunks of members (`BATCH_CHUNK_MEMBERS`, in external id
    order; all of a member's events in one chunk), each in its own transaction
    (`_chunk_record`): a concurrent batch sharing a member waits for that chunk only, not for
    the whole batch, so concurrent batches proceed side by side. A batch retried after a failure
    finds what its committed chunks wrote by their idempotency keys, and replays it. A chunk the
    database refused (after its retries) answers `NotRecorded` (the API's 503) for each of its
    items, logged, and the others go on: what the committed chunks wrote is answered, not hidden behind a 500.

    The chunks go in random order: two batches walking the same external id ranges in step would
    keep meeting on the members they share, one waiting for the other's chunk each time."""
    if len(items) > BATCH_MAX:
        raise InvalidInput(f"at most {BATCH_MAX} events per batch, got {len(items)}", field="events")
    order = sorted(range(len(items)), key=lambda index: (items[index].member, index))
    ctx = Context(programme=programme_current(), span=plausible_span(simulated=False))
    results: list[dict] = [{} for _ in items]
    checked: dict[int, Checked] = {}
    for index in order:
        try:
            checked[index] = event_check(items[index], programme=ctx.programme, span=ctx.span)
        except InvalidInput as error:
            results[index] = error_answer(items[index].idempotency_key, error)
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
            record = functools.partial(_chunk_record, ctx, items=items, order=chunk, checked=checked)
            written = _retrying(record)
        except (DatabaseError, LedgerError):
            logger.exception("a chunk of %d events of a batch was not recorded", len(chunk))
            refused = NotRecorded("not recorded (the database refused it): send it again", field="events")
            written = {index: error_answer(items[index].idempotency_key, refused) for index in chunk}
        for index, result in written.items():
            results[index] = result
    return results


def _chunk_record(
    ctx: Context, *, items: list[EventInput], order: list[int], checked: dict[int, Checked]
) -> dict[int, dict]:
    """Record the checked items `order` (whole members' events, in order), in one transaction.

    The chunk's members are locked together, in id order. Then the plain events (a known active
    member, rules paying only the member, no global budget, a new key) are evaluated in Python, one
    after the other per member (period limits count what earlier items gave), and written
    set-based. The others (refunds, sales reps, budgets, new members, keys already seen, and
    whatever follows them for the same member) go one by one in savepoints, after; so do the plain
    ones if their set-based write fails. Returns each item's result."""
    results: dict[int, dict] = {}
    with transaction.atomic():
        prefetched = members_prefetch(
            external_ids={items[index].member for index in order},
            keys={items[index].idempotency_key for index in order},
            programme=ctx.programme,
        )
        followups = Followups()
        ctx = dataclasses.replace(ctx, followups=followups, prefetched=prefetched)
        plain, others = _chunk_split(ctx, items=items, order=order)
        if plain:
            saved = {
                member.pk: (member.balance, member.points_owed) for member in prefetched.members.values()
            }
            try:
                with transaction.atomic():
                    planned = batch_evaluate(items=items, indexes=plain, checked=checked, ctx=ctx)
                    answers = batch_answers(items=items, planned=planned, programme=ctx.programme)
                    written = batch_write(ctx, items=items, planned=planned, checked=checked, answers=answers)
            except (IntegrityError, DataError):
                # A key stored meanwhile by a concurrent sender, a value out of range...: one by one.
                for member in prefetched.members.values():
                    member.balance, member.points_owed = saved[member.pk]
                position = {index: rank for rank, index in enumerate(order)}
                others = sorted(plain + others, key=position.__getitem__)
            else:
                for index, (event, credited) in written.items():
                    results[index] = answers[index]
                    followups.add(programme=ctx.programme, event=event, members=credited)
        for index in others:
            item = items[index]
            try:
                results[index] = _record(item, ctx, checked=checked[index])
            except LedgerError:
                raise  # the chunk's, not the event's: its events are answered `NotRecorded`
            except DomainError as error:
                results[index] = error_answer(item.idempotency_key, error)
                # Its savepoint was rolled back: read the member again rather than trust memory.
                prefetched.members.pop(item.member, None)
        followups.run(programme=ctx.programme)
    return results


def _chunk_split(ctx: Context, *, items: list[EventInput], order: list[int]) -> tuple[list[int], list[int]]:
    """(plain items, written set-based; the others, one by one), each in the batch's order."""
    assert ctx.prefetched is not None
    prefetched, rules = ctx.prefetched, ctx.programme.rules
    plain, others = [], []
    keys: set[str] = set()
    slow_members: set[str] = set()
    for index in order:
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
                for c in rules.get(item.type, [])
            )
        )
        keys.add(item.idempotency_key)
        if is_plain:
            plain.append(index)
        else:
            others.append(index)
            slow_members.add(item.member)
    return plain, others


def _record(data: EventInput, ctx: Context, checked: Checked | None = None) -> dict:
    """One event in its own transaction (a savepoint within a batch chunk). Its tier and badge
    evaluations run at its end, or at the chunk's. `checked`: its attributes and facts, when the
    batch checked them already."""
    if checked is None:
        try:
            checked = event_check(data, programme=ctx.programme, span=ctx.span)
        except InvalidInput:
            if ctx.unverified:
                raise ProgrammeToCheck from None
            raise
    try:
        with transaction.atomic():
            member, stored_id, event_id = member_locked(
                external_id=data.member, key=data.idempotency_key, ctx=ctx
            )
            assert member is not None
            if stored_id is not None:
                return replay(ActivityEvent.objects.get(pk=stored_id), data, checked[0])
            if data.type == REFUND:
                answer = refund_apply(ctx, data=data, checked=checked, member=member)
            else:
                answer = _award(ctx, data=data, checked=checked, member=member, event_id=event_id)
            if ctx.prefetched is None:  # a single event; a batch chunk runs them at its end
                assert ctx.followups is not None
                ctx.followups.run(programme=ctx.programme)
            return answer
    except IntegrityError:
        # The same key, committed meanwhile by a concurrent sender (our insert waited for it), or
        # sent twice in one batch: the transaction above is rolled back, answer as a replay. The
        # member's object may show credits that were rolled back: a batch reads it again.
        if ctx.prefetched is not None:
            ctx.prefetched.members.pop(data.member, None)
        stored = ActivityEvent.objects.filter(idempotency_key=data.idempotency_key).first()
        if stored is None:
            raise
        return replay(stored, data, checked[0])


def _award(ctx: Context, *, data: EventInput, checked: Checked, member: Member, event_id: int | None) -> dict:
    """An event other than a refund: its sales rep's account locked, its awards, its answer, written."""
    rules = ctx.programme.rules.get(data.type, [])
    rep = sales_rep_member(member=member, rules=rules, programme=ctx.programme, lock=True)
    evaluation = awards_evaluate(
        rules=rules, facts=checked[1], member=member, rep=rep, usage=usage, budget_left=budget_locked
    )
    answer = award_answer(data, ctx.programme, member, evaluation.awards)
    award_write(
        ctx,
        data=data,
        checked=checked,
        member=member,
        rep=rep,
        awards=evaluation.awards,
        answer=answer,
        event_id=event_id,
    )
    return answer


def event_simulate(*, data: EventInput, include_rule: EarningRule | None = None) -> dict:
    """What `event_record` would answer now, with `"simulated": true` and a `trace` of every rule of
    the event's type (applied, or why not, inactive ones included). Writes nothing, takes no lock;
    the idempotency key may be empty. `include_rule` is tried as if it were live (the backoffice
    simulates a rule before it goes live)."""
    programme = programme_load(event_type=data.type, include_rule=include_rule, inactive=True)
    ctx = Context(programme=programme, span=plausible_span(simulated=True))
    attributes = fields_check(data, key_required=False, span=ctx.span)
    if data.idempotency_key:
        stored = ActivityEvent.objects.filter(idempotency_key=data.idempotency_key).first()
        if stored is not None:
            return {**replay(stored, data, attributes), "simulated": True}
    checked = attributes, facts_read(data, attributes, programme)
    member = Member.objects.select_related("tier").filter(external_id=data.member).first()
    if member is None:
        if not programme.settings.auto_create_members:
            raise unknown_member(data.member)
        member = Member(external_id=data.member, joined_at=timezone.now())  # created by a real event
    status_check(member)
    if data.type == REFUND:
        return refund_simulate(ctx, data=data, checked=checked, member=member)
    rules = programme.rules.get(data.type, [])
    rep = sales_rep_member(member=member, rules=rules, programme=programme, lock=False)
    evaluation = awards_evaluate(
        rules=rules, facts=checked[1], member=member, rep=rep, usage=usage, budget_left=budget_read
    )
    return award_answer(data, programme, member, evaluation.awards, simulated=True, trace=evaluation.trace)


def _retrying(work: Callable[[], T]) -> T:
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
