"""A ledger entry's cause in words, for people: the backoffice member page and, later, the member
site. One sentence per entry, built from its kind, its cause (event, rule, staff user, reason,
outside source) and the explanation the engine or the service stored on it; reads nothing."""

from __future__ import annotations

from typing import Any

from loyalty.models import LedgerEntry

_OPS = {
    "equals": "is",
    "not_equals": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "gt": "is over",
    "gte": "is at least",
    "lt": "is under",
    "lte": "is at most",
    "between": "is between",
    "contains": "contains",
}
_CAPS = {"max_points_per_event": "the rule's maximum per event", "period": "the rule's limit per period"}


def _points(count: Any) -> str:
    return f"{count} point" if str(count) in ("1", "-1") else f"{count} points"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return " and ".join(str(item) for item in value) if len(value) == 2 else ", ".join(map(str, value))
    return str(value)


def _condition(line: dict) -> str:
    op = str(line.get("op"))
    text = f"{line.get('field')} {_OPS.get(op, op)} {_value(line.get('value'))}"
    if "actual" in line:
        text += f" (it was {_value(line['actual'])})"
    return text


def _computation(computation: dict) -> str:
    award = computation.get("award")
    if award == "fixed":
        return f"a fixed award of {_points(computation.get('points'))}"
    if award == "per_item":
        return f"{_points(computation.get('points_per_item'))} per item, for {computation.get('units')} items"
    if award == "per_amount":
        basis = f"{computation.get('basis')} {computation.get('currency', '')}".strip()
        where = " of the matching items" if computation.get("basis_from") == "matching items" else ""
        unit = computation.get("currency", "unit")
        return f"{computation.get('points_per_unit')} per {unit} on {basis}{where}"
    if award == "percentage":
        return "a share of what the member earned"
    return f"a {award} award" if award else ""


def _earned(explanation: dict) -> list[str]:
    parts = []
    conditions = [_condition(line) for line in explanation.get("conditions", [])]
    if conditions:
        parts.append("because " + "; ".join(conditions))
    items = explanation.get("item_conditions", {}).get("matching_items")
    if items:
        parts.append(f"on {len(items)} matching item{'s' if len(items) != 1 else ''}")
    computation = _computation(explanation.get("computation", {}))
    if computation:
        parts.append(computation)
    for step in explanation.get("multipliers", []):
        name = step.get("rule", {}).get("name", "a multiplier")
        parts.append(
            f"times {step.get('multiplier')} by “{name}” ({step.get('before')} → {step.get('after')})"
        )
    if "tier_multiplier" in explanation:
        parts.append(f"times {explanation['tier_multiplier']} for the tier")
    computed = explanation.get("computed")
    if computed:
        parts.append(
            f"{computed.get('amount')} rounded {computed.get('rounding')} to {computed.get('points')}"
        )
    for cap in explanation.get("caps", []):
        name = _CAPS.get(cap.get("cap"), cap.get("cap"))
        parts.append(f"capped by {name} at {cap.get('limit')} ({cap.get('before')} → {cap.get('after')})")
    if explanation.get("note"):
        parts.append(str(explanation["note"]))
    return parts


def _reversed(entry: LedgerEntry, explanation: dict) -> list[str]:
    parts = []
    if explanation.get("refund_of"):
        parts.append(f"refund of event {explanation['refund_of']}")
    rule = explanation.get("rule")
    if rule:
        parts.append(f"what rule “{rule.get('name')}” gave")
    if "earned" in explanation:
        earned, taken = explanation["earned"], explanation.get("taken_back")
        parts.append(
            f"all {_points(earned)} it earned" if taken == earned else f"{taken} of the {earned} it earned"
        )
    if explanation.get("note"):
        parts.append(str(explanation["note"]))
    if entry.reason and not parts:
        parts.append(entry.reason)
    return parts


def _by(entry: LedgerEntry) -> str:
    if entry.staff_user is not None:
        return f" by {entry.staff_user.get_username()}"
    if (entry.idempotency_key or "").startswith("api-"):
        return " through the API"
    return ""


def entry_in_words(*, entry: LedgerEntry) -> str:
    """One sentence saying why the entry exists: 'Earned 42 points on purchase order-7 by rule “1
    point per euro”: because amount is at least 10 (it was 42.00); 1 per EUR on 42.00 EUR; ...'."""
    explanation = entry.explanation if isinstance(entry.explanation, dict) else {}
    points = abs(entry.points)
    event = f" on {entry.event.type} {entry.event.idempotency_key}" if entry.event is not None else ""
    rule = f" by rule “{entry.rule.name}”" if entry.rule is not None else ""
    kind = entry.kind
    if kind == LedgerEntry.Kind.EARN:
        head, parts = f"Earned {_points(points)}{event}{rule}", _earned(explanation)
    elif kind == LedgerEntry.Kind.REVERSE and entry.points < 0:
        head, parts = f"Took back {_points(points)}{event}", _reversed(entry, explanation)
    elif kind == LedgerEntry.Kind.REVERSE:
        head, parts = f"Gave back {_points(points)}", [entry.reason] if entry.reason else []
    elif kind == LedgerEntry.Kind.EXPIRE:
        lots = explanation.get("lots")
        head = f"{_points(points).capitalize()} expired"
        parts = [str(explanation.get("why", "past their expiry date"))]
        if lots:
            parts.append(f"from {lots} lot{'s' if str(lots) != '1' else ''}")
    elif kind == LedgerEntry.Kind.REDEEM:
        gifts = explanation.get("gifts", {})
        units = sum(quantity for quantity in gifts.values() if isinstance(quantity, int))
        order = explanation.get("order_id") or (entry.source[6:] if entry.source.startswith("order:") else "")
        head = f"Spent {_points(points)} on order {order}" if order else f"Spent {_points(points)}"
        parts = [f"{units} gift{'s' if units != 1 else ''}"] if units else []
    elif kind == LedgerEntry.Kind.ADJUST:
        verb = "Added" if entry.points > 0 else "Took"
        head, parts = f"{verb} {_points(points)}{_by(entry)}", [entry.reason] if entry.reason else []
    else:
        head = f"{entry.get_kind_display()} of {_points(entry.points)}"
        parts = [entry.reason] if entry.reason else []
    if entry.source and not entry.source.startswith(("order:", "expiry")):
        parts.append(f"source: {entry.source}")
    sentence = head + (": " + "; ".join(part for part in parts if part) if any(parts) else "")
    return sentence + "."
