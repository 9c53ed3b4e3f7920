"""Stage 4, evaluation: what the programme's rules award for an event (`loyalty.engine`), with the
lookups they ask for: points a rule already gave in a period, a rule's budget left, segments."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection

from loyalty.engine import (
    Beneficiary,
    CompiledRule,
    EventFacts,
    Lookups,
    MemberFacts,
    period_bounds,
    rules_evaluate,
)
from loyalty.models import EarningRule, Member

if TYPE_CHECKING:
    from loyalty.engine import Evaluation
    from loyalty.services.events.checks import Checked, EventInput
    from loyalty.services.events.context import Context

logger = logging.getLogger(__name__)

Usage = Callable[[EarningRule, "int | None", datetime, datetime], int]


def awards_evaluate(
    *,
    rules: list[CompiledRule],
    facts: EventFacts,
    member: Member,
    rep: Member | None,
    usage: Usage,
    budget_left: Callable[[EarningRule], int],
) -> Evaluation:
    """The rules' awards for the event of `member` (and `rep`, their sales rep's account)."""
    return rules_evaluate(
        rules=rules,
        event=facts,
        member=_member_facts(member),
        beneficiaries=_beneficiaries(member, rep),
        lookups=Lookups(usage=usage, budget_left=budget_left, in_segment=_segment_check(member)),
        sales_rep_missing=_sales_rep_missing(member, rep),
    )


def batch_evaluate(
    *, items: list[EventInput], indexes: list[int], checked: dict[int, Checked], ctx: Context
) -> list[tuple[int, Member, Evaluation]]:
    """The plain events `indexes` of a batch chunk (members prefetched, rules paying only the
    member, no budget), evaluated in order: a period limit counts what earlier items gave."""
    assert ctx.prefetched is not None
    members, rules = ctx.prefetched.members, ctx.programme.rules
    usage = _BatchUsage(
        needed=[
            (compiled.rule, members[items[index].member].pk, checked[index][1].local)
            for index in indexes
            for compiled in rules.get(items[index].type, [])
        ]
    )
    planned = []
    for index in indexes:
        data = items[index]
        facts = checked[index][1]
        member = members[data.member]
        evaluation = awards_evaluate(
            rules=rules.get(data.type, []),
            facts=facts,
            member=member,
            rep=None,
            usage=usage.get,
            budget_left=_no_budget,
        )
        for award in evaluation.awards:
            usage.add(award.rule, member.pk, facts.local, award.points)
        planned.append((index, member, evaluation))
    return planned


def budget_locked(rule: EarningRule) -> int:
    """What is left of the rule's global budget, its row locked until the event is written."""
    budget, used = (
        EarningRule.objects.select_for_update().values_list("global_budget", "budget_used").get(pk=rule.pk)
    )
    return budget - used if budget is not None else _UNLIMITED


def budget_read(rule: EarningRule) -> int:
    """What is left of the rule's global budget, as compiled (the simulator locks nothing)."""
    return rule.global_budget - rule.budget_used if rule.global_budget is not None else _UNLIMITED


_UNLIMITED = 2**31 - 1  # a rule without a global budget


def _no_budget(rule: EarningRule) -> int:
    raise AssertionError(f"rule {rule.pk} has a global budget: its events are not written set-based")


def _sales_rep_missing(member: Member, rep: Member | None) -> str:
    if member.sales_rep_id is None or rep is None:
        return "the member has no sales rep"
    return f"the sales rep's member account is {rep.status}"


def _beneficiaries(member: Member, rep: Member | None) -> dict[str, Beneficiary | None]:
    def facts(who: Member, kind: str) -> Beneficiary:
        tier = who.tier if who.tier_id else None
        multiplier = Decimal(1) if tier is None else tier.earn_multiplier
        return Beneficiary(
            kind=kind, member_id=who.pk, external_id=who.external_id, tier_multiplier=multiplier
        )

    paid_rep = facts(rep, "sales_rep") if rep is not None and rep.status == Member.Status.ACTIVE else None
    return {"member": facts(member, "member"), "sales_rep": paid_rep}


def _member_facts(member: Member) -> MemberFacts:
    tier = member.tier if member.tier_id else None
    return MemberFacts(
        id=member.pk,
        external_id=member.external_id,
        kind=member.kind,
        tier_code="" if tier is None else tier.code,
        tags=tuple(member.tags or ()),
        is_vip=member.is_vip,
        vip_source=member.vip_source,
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


def usage(rule: EarningRule, member_id: int | None, start: datetime, end: datetime) -> int:
    """Points `rule` gave the member for events that occurred in [start, end)."""
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
            self.used[key] = usage(rule, member_id, start, end)
        return self.used[key]

    def add(self, rule: EarningRule, member_id: int, local: datetime, points: int) -> None:
        if rule.limit_period and rule.limit_points is not None:
            start, end = period_bounds(period=rule.limit_period, local=local)
            self.used[(rule.pk, member_id, start, end)] = self.get(rule, member_id, start, end) + points


def _segment_check(member: Member) -> Callable[[str], bool]:
    """Segment membership by segment name, asked only when a rule has a segment condition."""

    def in_segment(name: str) -> bool:
        from loyalty.models import Segment
        from loyalty.selectors.segments import SegmentFilterError, segment_members

        segment = Segment.objects.filter(name=name).first()
        if not (member.pk and segment):
            return False
        try:
            return segment_members(segment=segment).filter(pk=member.pk).exists()
        except SegmentFilterError as error:
            # Saved filters that no longer hold (a tier deleted since) match nobody: the event is
            # recorded without the rule, and the backoffice's preview shows the segment's error.
            logger.warning("segment %r matches nobody: %s", name, error)
            return False

    return in_segment
