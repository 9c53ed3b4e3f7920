"""Stage 6, refunds: an event of type `refund` with `attributes.original_event` reverses exactly
what the original earned, once (points already spent are taken back as far as possible), or
says, when simulated, what it would take back."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from core.errors import InvalidInput, NotFound, Refused
from loyalty.models import ActivityEvent, EarningRule, LedgerEntry, Member
from loyalty.services.events.answers import REFUSED, result
from loyalty.services.events.checks import REFUND
from loyalty.services.events.writing import event_create
from loyalty.services.ledger import EntryCause, points_reverse, points_reversible

if TYPE_CHECKING:
    from loyalty.services.events.checks import Checked, EventInput
    from loyalty.services.events.context import Context


def refund_apply(ctx: Context, *, data: EventInput, checked: Checked, member: Member) -> dict:
    """Reverse what the original event earned, each earn entry by `points_reverse` (its own lot
    first, pending or not). The refund event is stored first (entries point to it), its answer once
    the ledger has said what it took."""
    programme = ctx.programme
    original = _original_event(checked[0], member, lock=True)
    note = _refund_note(original, reversing=original.reversed_at is None)
    if original.reversed_at is not None:
        answer = result(data, programme, [], member.balance, refund=note)
        event_create(data, member, checked, answer)
        return answer
    entries = _earn_entries(original)
    # The other beneficiaries (the sales rep) locked after the member, in id order.
    others = (
        Member.objects.select_for_update(of=("self",))
        .filter(pk__in={entry.member_id for entry in entries} - {member.pk})
        .order_by("pk")
    )
    targets = {member.pk: member, **{other.pk: other for other in others}}
    event = event_create(data, member, checked, result(data, programme, [], member.balance))
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
    answer = result(data, programme, awards, member.balance, refund=note)
    ActivityEvent.objects.filter(pk=event.pk).update(result=answer, points_awarded=answer["points_awarded"])
    original.reversed_at = now
    original.save(update_fields=["reversed_at"])
    assert ctx.followups is not None
    ctx.followups.add(
        programme=programme,
        event=event,
        members=[(target, -reversed_points[pk]) for pk, target in targets.items()],
    )
    return answer


def refund_simulate(ctx: Context, *, data: EventInput, checked: Checked, member: Member) -> dict:
    """What `refund_apply` would answer now; reads only."""
    original = _original_event(checked[0], member)
    plan = (
        []
        if original.reversed_at
        else _reversals_planned(original=original, member=member, at=timezone.now())
    )
    balance = member.balance + sum(points for _, points in plan)
    return result(
        data,
        ctx.programme,
        [award for award, _ in plan],
        balance,
        refund=_refund_note(original, reversing=not original.reversed_at),
        simulated=True,
        trace=[],
    )


def _original_event(attributes: dict, member: Member, *, lock: bool = False) -> ActivityEvent:
    key = attributes.get("original_event")
    field = "attributes.original_event"
    if not isinstance(key, str) or not key:
        raise InvalidInput("is required: the idempotency key of the event refunded", field=field)
    query = ActivityEvent.objects.select_for_update() if lock else ActivityEvent.objects
    original = query.filter(idempotency_key=key).first()
    if original is None:
        raise NotFound(f"no event with idempotency key '{key}'", field=field)
    if original.type == REFUND:
        raise Refused("is a refund itself; refund the original event", field=field, code=REFUSED)
    if original.member_id != member.pk:
        raise Refused("is an event of another member", field=field, code=REFUSED)
    return original


def _earn_entries(original: ActivityEvent) -> list[LedgerEntry]:
    return list(original.entries.filter(kind=LedgerEntry.Kind.EARN).select_related("rule").order_by("id"))


def _reversal_out(*, entry: LedgerEntry, target: Member, kind: str, explanation: dict) -> dict:
    taken = explanation["taken_back"]
    return {
        "beneficiary": {"kind": kind, "member": target.external_id},
        "points": -taken,
        "rule": _rule_out(entry),
        "explanation": explanation,
    }


def _reversal_cause(original: ActivityEvent, entry: LedgerEntry) -> dict:
    return {
        "refund_of": original.idempotency_key,
        "reverses_entry": entry.pk,
        "rule": _rule_out(entry),
    }


def _rule_out(entry: LedgerEntry) -> dict | None:
    """The rule an earn entry came from (read with the entry), as answers name it."""
    return None if entry.rule is None else {"id": entry.rule.pk, "name": entry.rule.name}


def _reversals_planned(*, original: ActivityEvent, member: Member, at: datetime) -> list[tuple[dict, int]]:
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


def _refund_note(original: ActivityEvent, *, reversing: bool = False) -> dict:
    return {
        "original_event": original.idempotency_key,
        "already_reversed": bool(original.reversed_at) and not reversing,
    }
