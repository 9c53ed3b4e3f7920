"""A ledger entry's cause in words, for people: the backoffice member page and, later, the member
site. One sentence per entry, built from its kind, its cause (event, rule, staff user, reason,
outside source) and the explanation the engine or the service stored on it; reads nothing. The
sentence is in the active language (the member's on their site), numbers formatted for it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.formats import points_format
from loyalty.models import LedgerEntry

_OPS = {
    "equals": gettext_lazy("is"),
    "not_equals": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "gt": gettext_lazy("is over"),
    "gte": gettext_lazy("is at least"),
    "lt": gettext_lazy("is under"),
    "lte": gettext_lazy("is at most"),
    "between": gettext_lazy("is between"),
    "contains": gettext_lazy("contains"),
}
_ROUNDED = {
    "down": gettext_lazy("%(amount)s rounded down to %(points)s"),
    "up": gettext_lazy("%(amount)s rounded up to %(points)s"),
    "nearest": gettext_lazy("%(amount)s rounded to %(points)s"),
}
_CAPS = {
    "max_points_per_event": gettext_lazy("the rule's maximum per event"),
    "period": gettext_lazy("the rule's limit per period"),
}


def _points(count: Any) -> str:
    if isinstance(count, int) or (isinstance(count, str) and count.lstrip("-").isdigit()):
        return points_format(int(count))
    return _("%(count)s points") % {"count": count}


def _value(value: Any) -> str:
    if isinstance(value, list):
        if len(value) == 2:
            return _("%(first)s and %(second)s") % {"first": value[0], "second": value[1]}
        return ", ".join(map(str, value))
    return str(value)


def _condition(line: dict) -> str:
    op = str(line.get("op"))
    text = f"{line.get('field')} {_OPS.get(op, op)} {_value(line.get('value'))}"
    if "actual" in line:
        text += " " + _("(it was %(value)s)") % {"value": _value(line["actual"])}
    return text


def _computation(computation: dict) -> str:
    award = computation.get("award")
    if award == "fixed":
        return _("a fixed award of %(points)s") % {"points": _points(computation.get("points"))}
    if award == "per_item":
        units = computation.get("units")
        count = units if isinstance(units, int) else 2
        return ngettext(
            "%(points)s per item, for %(units)s item", "%(points)s per item, for %(units)s items", count
        ) % {
            "points": _points(computation.get("points_per_item")),
            "units": units,
        }
    if award == "per_amount":
        basis = f"{computation.get('basis')} {computation.get('currency', '')}".strip()
        values = {
            "rate": computation.get("points_per_unit"),
            "unit": computation.get("currency", ""),
            "basis": basis,
        }
        if computation.get("basis_from") == "matching items":
            return _("%(rate)s per %(unit)s on %(basis)s of the matching items") % values
        return _("%(rate)s per %(unit)s on %(basis)s") % values
    if award == "percentage":
        return _("a share of what the member earned")
    return _("a %(award)s award") % {"award": award} if award else ""


def _earned(explanation: dict) -> list[str]:
    parts = []
    conditions = [_condition(line) for line in explanation.get("conditions", [])]
    if conditions:
        parts.append(_("because %(conditions)s") % {"conditions": "; ".join(conditions)})
    items = explanation.get("item_conditions", {}).get("matching_items")
    if items:
        parts.append(
            ngettext("on %(count)s matching item", "on %(count)s matching items", len(items))
            % {"count": len(items)}
        )
    computation = _computation(explanation.get("computation", {}))
    if computation:
        parts.append(computation)
    for step in explanation.get("multipliers", []):
        name = step.get("rule", {}).get("name") or _("a multiplier")
        parts.append(
            _("times %(multiplier)s by “%(name)s” (%(before)s → %(after)s)")
            % {
                "multiplier": step.get("multiplier"),
                "name": name,
                "before": step.get("before"),
                "after": step.get("after"),
            }
        )
    if "tier_multiplier" in explanation:
        parts.append(_("times %(multiplier)s for the tier") % {"multiplier": explanation["tier_multiplier"]})
    computed = explanation.get("computed")
    if computed:
        rounded = _ROUNDED.get(str(computed.get("rounding")), _ROUNDED["nearest"])
        parts.append(str(rounded) % {"amount": computed.get("amount"), "points": computed.get("points")})
    for cap in explanation.get("caps", []):
        name = _CAPS.get(cap.get("cap"), cap.get("cap"))
        parts.append(
            _("capped by %(name)s at %(limit)s (%(before)s → %(after)s)")
            % {
                "name": name,
                "limit": cap.get("limit"),
                "before": cap.get("before"),
                "after": cap.get("after"),
            }
        )
    if explanation.get("note"):
        parts.append(str(explanation["note"]))
    return parts


def _reversed(entry: LedgerEntry, explanation: dict) -> list[str]:
    parts = []
    if explanation.get("refund_of"):
        parts.append(_("refund of event %(event)s") % {"event": explanation["refund_of"]})
    rule = explanation.get("rule")
    if rule:
        parts.append(_("what rule “%(name)s” gave") % {"name": rule.get("name")})
    if "earned" in explanation:
        earned, taken = explanation["earned"], explanation.get("taken_back")
        if taken == earned:
            parts.append(_("all %(points)s it earned") % {"points": _points(earned)})
        else:
            parts.append(_("%(taken)s of the %(earned)s it earned") % {"taken": taken, "earned": earned})
    if explanation.get("note"):
        parts.append(str(explanation["note"]))
    if entry.reason and not parts:
        parts.append(entry.reason)
    return parts


def _by(entry: LedgerEntry) -> str:
    if entry.staff_user is not None:
        return " " + _("by %(user)s") % {"user": entry.staff_user.get_username()}
    if (entry.idempotency_key or "").startswith("api-"):
        return " " + _("through the API")
    return ""


def entry_in_words(*, entry: LedgerEntry) -> str:
    """One sentence saying why the entry exists: 'Earned 42 points on purchase order-7 by rule “1
    point per euro”: because amount is at least 10 (it was 42.00); 1 per EUR on 42.00 EUR; ...'."""
    explanation = entry.explanation if isinstance(entry.explanation, dict) else {}
    points = _points(abs(entry.points))
    event = (
        " " + _("on %(type)s %(key)s") % {"type": entry.event.type, "key": entry.event.idempotency_key}
        if entry.event is not None
        else ""
    )
    rule = " " + _("by rule “%(name)s”") % {"name": entry.rule.name} if entry.rule is not None else ""
    kind = entry.kind
    if kind == LedgerEntry.Kind.EARN:
        head, parts = _("Earned %(points)s") % {"points": points} + event + rule, _earned(explanation)
    elif kind == LedgerEntry.Kind.REVERSE and entry.points < 0:
        head, parts = _("Took back %(points)s") % {"points": points} + event, _reversed(entry, explanation)
    elif kind == LedgerEntry.Kind.REVERSE:
        head, parts = _("Gave back %(points)s") % {"points": points}, [entry.reason] if entry.reason else []
    elif kind == LedgerEntry.Kind.EXPIRE:
        lots = explanation.get("lots")
        head = _("%(points)s expired") % {"points": points}
        head = head[:1].upper() + head[1:]
        parts = [str(explanation.get("why") or _("past their expiry date"))]
        if lots:
            count = int(lots) if str(lots).isdigit() else 2
            parts.append(ngettext("from %(count)s lot", "from %(count)s lots", count) % {"count": lots})
    elif kind == LedgerEntry.Kind.REDEEM:
        gifts = explanation.get("gifts", {})
        units = sum(quantity for quantity in gifts.values() if isinstance(quantity, int))
        order = explanation.get("order_id") or (entry.source[6:] if entry.source.startswith("order:") else "")
        if order:
            head = _("Spent %(points)s on order %(order)s") % {"points": points, "order": order}
        else:
            head = _("Spent %(points)s") % {"points": points}
        parts = [ngettext("%(count)s gift", "%(count)s gifts", units) % {"count": units}] if units else []
    elif kind == LedgerEntry.Kind.ADJUST:
        verb = _("Added %(points)s") if entry.points > 0 else _("Took %(points)s")
        head, parts = verb % {"points": points} + _by(entry), [entry.reason] if entry.reason else []
    else:
        head = _("%(kind)s of %(points)s") % {
            "kind": entry.get_kind_display(),
            "points": _points(entry.points),
        }
        parts = [entry.reason] if entry.reason else []
    if entry.source and not entry.source.startswith(("order:", "expiry")):
        parts.append(_("source: %(source)s") % {"source": entry.source})
    sentence = head + (": " + "; ".join(part for part in parts if part) if any(parts) else "")
    return sentence + "."
