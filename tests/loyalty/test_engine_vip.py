"""The VIP earn multiplier (`loyalty.engine`): a multiplier rule on `member.vip` (or on
`member.vip_source`) doubles what the earlier rules gave a VIP member, and its trace says why it
applied or did not, as for any condition; then through `event_record` for a member made VIP."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from loyalty.engine import Beneficiary, Lookups, MemberFacts, event_facts, rules_compile, rules_evaluate
from loyalty.models import EarningRule
from loyalty.rule_examples import DOUBLE_FOR_VIP, POINT_PER_EURO
from loyalty.services.events import EventInput, event_record
from loyalty.services.rules import rule_create
from tests.factories import member_make

PARIS = ZoneInfo("Europe/Paris")
ME = Beneficiary(kind="member", member_id=1, external_id="m1", tier_multiplier=Decimal("1"))


def _member(**facts) -> MemberFacts:
    values = {"id": 1, "external_id": "m1", "kind": "customer", "tier_code": "", "tags": (), "is_vip": False}
    return MemberFacts(**{**values, **facts})


def _not_needed(*args):
    raise AssertionError("no limit, budget or segment here")


def _evaluate(rules: list[dict], member: MemberFacts, amount: str = "40"):
    rows = [EarningRule(pk=pk, **{"priority": 100, **data}) for pk, data in enumerate(rules, start=1)]
    facts = event_facts(
        type="purchase",
        occurred_at=datetime(2026, 6, 1, 12, tzinfo=PARIS),
        attributes={"amount": amount, "currency": "EUR"},
        tz=PARIS,
        currency="EUR",
    )
    return rules_evaluate(
        rules=rules_compile(rows),
        event=facts,
        member=member,
        beneficiaries={"member": ME, "sales_rep": None},
        lookups=Lookups(usage=_not_needed, budget_left=_not_needed, in_segment=_not_needed),
    )


def test_a_vip_member_earns_double_and_the_trace_says_why():
    result = _evaluate([POINT_PER_EURO, DOUBLE_FOR_VIP], _member(is_vip=True, vip_source="tier"))
    assert result.points == 80
    (award,) = result.awards
    (step,) = award.explanation["multipliers"]
    assert (step["rule"]["name"], step["multiplier"], step["before"], step["after"]) == (
        "Double for VIP members",
        "2",
        "40",
        "80",
    )
    line = result.trace[1]
    assert line["applied"] is True
    assert line["conditions"][0]["field"] == "member.vip" and line["conditions"][0]["holds"] is True


def test_a_member_who_is_not_vip_earns_once_and_the_trace_says_why():
    result = _evaluate([POINT_PER_EURO, DOUBLE_FOR_VIP], _member())
    assert result.points == 40
    line = result.trace[1]
    assert (line["applied"], line["reason"]) == (False, "condition on member.vip does not hold")


@pytest.mark.parametrize(("source", "points"), [("subscription", 120), ("spend", 40), ("", 40)])
def test_a_multiplier_for_paying_subscribers_only(source, points):
    thrice = {
        **DOUBLE_FOR_VIP,
        "name": "x3 for subscribers",
        "multiplier": "3",
        "conditions": [{"field": "member.vip_source", "op": "in", "value": ["subscription"]}],
    }
    member = _member(is_vip=bool(source), vip_source=source)
    assert _evaluate([POINT_PER_EURO, thrice], member).points == points


def test_through_the_services_for_a_member_made_vip(in_a):
    rule_create(data=POINT_PER_EURO)
    rule_create(data=DOUBLE_FOR_VIP)
    vip, plain = member_make(is_vip=True), member_make()
    for key, member in (("v-1", vip), ("p-1", plain)):
        event_record(
            data=EventInput(
                member=member.external_id,
                type="purchase",
                occurred_at=timezone.now() - timedelta(minutes=1),
                attributes={"amount": "25", "currency": "EUR"},
                idempotency_key=key,
            )
        )
        member.refresh_from_db()
    assert (vip.balance, plain.balance) == (50, 25)
