"""Stage 5, writing: the event row with its answer, the rules' budgets, the credits to the ledger
(in the statement that writes the event when it can), and the tier and badge evaluations the
written events call for (`Followups`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import F
from django.utils import timezone

from core.db import row_insert, rows_insert
from loyalty.models import ActivityEvent, EarningRule, LedgerEntry, Member
from loyalty.services.events.checks import REFUND
from loyalty.services.ledger import Credit, EntryCause, LedgerError, members_touch, points_credit_many

if TYPE_CHECKING:
    from loyalty.engine import Award, Evaluation
    from loyalty.services.events.checks import Checked, EventInput
    from loyalty.services.events.context import Context
    from loyalty.services.events.programme import Programme


def event_row(data: EventInput, member: Member, checked: Checked, answer: dict) -> ActivityEvent:
    """The event row (not saved), with the answer it gets (replayed on retries). Purchases and other
    events with an amount keep it (tiers count the amount spent); a refund's amount stays in its
    attributes."""
    attributes, facts = checked
    amount = None if data.type == REFUND else facts.amount
    return ActivityEvent(
        idempotency_key=data.idempotency_key,
        member=member,
        type=data.type,
        occurred_at=data.occurred_at,
        attributes=attributes,
        amount=None if amount is None else amount.quantize(Decimal("0.01"), ROUND_HALF_UP),
        currency="" if amount is None else facts.currency,
        points_awarded=answer["points_awarded"],
        result=answer,
    )


def event_create(data: EventInput, member: Member, checked: Checked, answer: dict) -> ActivityEvent:
    event = event_row(data, member, checked, answer)
    rows_insert([event])
    return event


def award_write(
    ctx: Context,
    *,
    data: EventInput,
    checked: Checked,
    member: Member,
    rep: Member | None,
    awards: list[Award],
    answer: dict,
    event_id: int | None,
) -> None:
    """One event and what it awards. `event_id`: an id drawn for the event; the event row then goes
    in the statement writing its credits (`points_credit_many`'s `with_rows`), not in one of its
    own."""
    event = event_row(data, member, checked, answer)
    if event_id is None:  # a batch's prefetched member: no id was drawn
        rows_insert([event])
    else:
        event.pk = event_id  # written with its credits, or alone below
    now = timezone.now()
    for award in awards:
        if award.rule.global_budget is not None:
            # The row is locked since `budget_locked` read it; the database refuses any overspend.
            EarningRule.objects.filter(pk=award.rule.pk).update(budget_used=F("budget_used") + award.points)
    credits = _credits(event=event, awards=awards, member=member, rep=rep)
    unsaved = [] if event_id is None else [event]
    if credits:
        points_credit_many(
            credits=credits,
            kind=LedgerEntry.Kind.EARN,
            at=now,
            programme=ctx.programme.settings,
            with_rows=unsaved,
        )
    else:
        if unsaved:
            row_insert(event)
        members_touch(member_ids=[member.pk], at=now)
    assert ctx.followups is not None
    ctx.followups.add(programme=ctx.programme, event=event, members=_credited(member, credits))


def batch_write(
    ctx: Context,
    *,
    items: list[EventInput],
    planned: list[tuple[int, Member, Evaluation]],
    checked: dict[int, Checked],
    answers: dict[int, dict],
) -> dict[int, tuple[ActivityEvent, list[tuple[Member, int]]]]:
    """A chunk's plain events (`evaluation.batch_evaluate`), written set-based: one INSERT of
    events, then `points_credit_many` (entries, lots, members' balances). Returns, per item, its
    event and who it credited."""
    events = {
        index: event_row(items[index], member, checked[index], answers[index]) for index, member, _ in planned
    }
    rows_insert(list(events.values()))
    now = timezone.now()
    credits = {
        index: _credits(event=events[index], awards=evaluation.awards, member=member, rep=None)
        for index, member, evaluation in planned
    }
    points_credit_many(
        credits=[credit for index, *_ in planned for credit in credits[index]],
        kind=LedgerEntry.Kind.EARN,
        at=now,
        programme=ctx.programme.settings,
    )
    idle = {member.pk for _, member, _ in planned} - {c.member.pk for cs in credits.values() for c in cs}
    members_touch(member_ids=idle, at=now)
    final = {member.pk: answers[index]["balance"] for index, member, _ in planned}  # each member's last
    if any(final[member.pk] != member.balance for _, member, _ in planned):
        raise LedgerError("a batch's answers and its ledger disagree on a balance")
    return {index: (events[index], _credited(member, credits[index])) for index, member, _ in planned}


def _credits(*, event: ActivityEvent, awards: list[Any], member: Member, rep: Member | None) -> list[Credit]:
    credits = []
    for award in awards:
        target = member if award.beneficiary.kind == "member" else rep
        if target is None:
            raise AssertionError(f"rule {award.rule.pk} pays a sales rep the member does not have")
        cause = EntryCause(event_id=event.pk, rule_id=award.rule.pk, explanation=award.explanation)
        credits.append(Credit(member=target, points=award.points, cause=cause))
    return credits


def _credited(member: Member, credits: list[Credit]) -> list[tuple[Member, int]]:
    """The event's member first, then who else the credits paid, with the points each got."""
    credited = {member.pk: (member, 0)}
    for credit in credits:
        target, points = credited.get(credit.member.pk, (credit.member, 0))
        credited[target.pk] = (target, points + credit.points)
    return list(credited.values())


class Followups:
    """Tier and badge evaluations that recorded events call for, run once per member: at the end of
    a single event, or of a whole batch chunk (a member's many events of one batch are evaluated
    once, so a tier reached by an event applies to the events of the next call). Run in the
    recording transaction, where the members are locked."""

    def __init__(self) -> None:
        self.members: dict[int, Member] = {}
        self.tiers: set[int] = set()
        self.events: dict[int, list[ActivityEvent]] = {}

    def add(self, *, programme: Programme, event: ActivityEvent, members: list[tuple[Member, int]]) -> None:
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

    def run(self, *, programme: Programme) -> None:
        from loyalty.services.badges import badges_evaluate
        from loyalty.services.tiers import tier_evaluate

        at = timezone.now()
        for pk in sorted(self.members):
            member = self.members[pk]
            if pk in self.tiers:
                tier_evaluate(member=member, at=at, programme=programme.settings, tiers_exist=True)
            if pk in self.events:
                badges_evaluate(member=member, events=self.events[pk], badges=programme.badges)
