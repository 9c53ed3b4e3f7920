"""The earning-rules engine: what an event earns under a brand's rules, and why. No writes.

Rules are data (`EarningRule`); their conditions are `{"field", "op", "value"}` dicts interpreted
here by code, never `eval`. The services feed the engine parsed facts (`event_facts`, `MemberFacts`)
and read-only lookups (points a rule already gave in a period, what is left of a budget, segment
membership), and write what it answers; the simulator shows the same answer without writing.

Semantics, in the order the engine applies them:

- Rules of the event's type run by priority (lower first, then id). A rule applies when it is
  active at the event's time (`is_active`, `active_from` <= occurred_at < `active_until`), all its
  `conditions` hold and, when it has `item_conditions`, at least one item meets them all.
  `stop_after` ends the run after a rule that applied.
- A missing attribute fails every condition on it. Time fields (`local_time`, `weekday`, `date`)
  are read in the brand's timezone; a `local_time` window `between ["22:00", "02:00"]` crosses
  midnight and includes its start, not its end.
- `between` includes both bounds, except a time window (its start, not its end); the optional
  `"inclusive": [low, high]` (two booleans) says it for each bound: `amount` "over 1,000 up to
  5,000" is `between [1000, 5000]` with `"inclusive": [false, true]`. `gt`/`gte`/`lt`/`lte`
  are the one-sided thresholds ("over 1,000" is `gt 1000`).
- Awards: `fixed` points; `per_amount`: `points_per_unit` per currency unit of the event's
  amount (or, with item conditions, of the matching items' quantity x unit price); `per_item`:
  `points` per matching item unit; `multiplier`: multiplies what the earlier rules gave the same
  beneficiary (only the part earned on the matching items when it has item conditions);
  `percentage`: a sales rep's `percent` of what the member earns in the same evaluation (below).
  Multipliers fold into the award they multiply, so that award's limits cap the whole: "1 point
  per euro, double on featured, at most 500 a day" is a per-amount rule capped at 500 a day plus a
  x2 multiplier on featured items. "Double for VIP members" is a multiplier of a later priority
  with the condition `member.vip` equals true (`member.vip_source` in ["subscription"]: for paying
  subscribers only); its trace shows the condition checked, as any other.
- Then, per award: the beneficiary's tier multiplier (`apply_tier_multiplier`), the rule's
  rounding, `max_points_per_event`, the per-period limit (periods in the brand's timezone, counted
  from the rule's ledger entries for that beneficiary on events of the period), the global budget.
- A `percentage` award (sales rep only) is computed last, from the member's awards of the same
  evaluation once they are final (multipliers of any priority, the member's tier multiplier,
  rounding and caps): each award counts its points, or with item conditions on the percentage
  rule the share of its points earned on the matching items (points x its amount on those items /
  its whole amount; a fixed award is on no item). `percent` / 100 x their sum is then finished as
  any award: the rep's tier multiplier when the rule applies it, the rule's rounding (`down`,
  the default, is floor), its caps. Multipliers never multiply a percentage award: it already
  follows what they did to the member's awards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

OPERATORS = ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains")

# What each kind of field accepts.
_OPS_BY_KIND = {
    "value": OPERATORS,  # event attributes and item fields: JSON values
    "number": ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "between"),
    "text": ("equals", "not_equals", "in", "not_in"),
    "tags": ("contains", "in", "not_in"),
    "bool": ("equals", "not_equals"),
    "time": ("between", "gt", "gte", "lt", "lte"),
    "weekday": ("equals", "not_equals", "in", "not_in"),
    "date": ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "between"),
}

EVENT_FIELDS = {
    "amount": "number",
    "currency": "text",
    "local_time": "time",
    "weekday": "weekday",
    "date": "date",
    "member.tier": "text",
    "member.kind": "text",
    "member.segment": "text",
    "member.tags": "tags",
    "member.vip": "bool",
    "member.vip_source": "text",
}
ITEM_FIELDS = {"sku": "value", "category": "value", "quantity": "number", "unit_price": "number"}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_ITEMS = 1000
# Attributes that hold a date or a date-time (a trip's start and end, `delivered_at`...).
DATE_ATTRIBUTE = re.compile(r"^(start|end|date|.+_at|.+_date)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
_CONDITION_KEYS = frozenset({"field", "op", "value"})
_ROUNDING = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_UP}
_MISSING = object()


# --- condition structure (used by rule validation) --------------------------------------------------


def condition_kind(field_name: Any, *, item: bool = False) -> str | None:
    """The kind of a condition's field, or None when the engine does not know that field."""
    if not isinstance(field_name, str):
        return None
    if item:
        if field_name in ITEM_FIELDS:
            return ITEM_FIELDS[field_name]
        return "value" if _NAME.match(field_name) else None
    if field_name in EVENT_FIELDS:
        return EVENT_FIELDS[field_name]
    if field_name.startswith("attributes."):
        parts = field_name.split(".")[1:]
        return "value" if all(_NAME.match(part) for part in parts) else None
    return None


def conditions_problems(conditions: Any, *, item: bool = False) -> list[str]:
    """What is wrong with a list of conditions; each message names the condition and its key."""
    if not isinstance(conditions, list):
        return ['must be a list of {"field": ..., "op": ..., "value": ...}']
    problems = []
    for index, condition in enumerate(conditions):
        where = f"[{index}]"
        if (
            not isinstance(condition, dict)
            or not _CONDITION_KEYS <= set(condition)
            or set(condition) - _CONDITION_KEYS - {"inclusive"}
        ):
            problems.append(
                f'{where}: needs exactly the keys "field", "op" and "value" ("inclusive" too, with between)'
            )
            continue
        kind = condition_kind(condition["field"], item=item)
        if kind is None:
            known = ", ".join(ITEM_FIELDS) if item else ", ".join(EVENT_FIELDS) + ", attributes.<name>"
            problems.append(f"{where}.field: {condition['field']!r} is not a field (use {known})")
            continue
        op = condition["op"]
        if op not in _OPS_BY_KIND[kind]:
            problems.append(
                f"{where}.op: {op!r} does not apply to {condition['field']} "
                f"(use {', '.join(_OPS_BY_KIND[kind])})"
            )
            continue
        if "inclusive" in condition and op != "between":
            problems.append(f"{where}.inclusive: only 'between' has bounds to include or exclude")
            continue
        try:
            inclusive = _inclusive(kind, condition.get("inclusive", _MISSING))
        except ValueError as error:
            problems.append(f"{where}.inclusive: {error}")
            continue
        try:
            _value_compile(kind, op, condition["value"], inclusive)
        except ValueError as error:
            problems.append(f"{where}.value: {error}")
    return problems


def _inclusive(kind: str, given: Any) -> tuple[bool, bool]:
    """Whether a `between`'s low and high bounds hold, as given or by default: both, except a time
    window, which includes its start and not its end."""
    if given is _MISSING:
        return (True, kind != "time")
    if not isinstance(given, list) or len(given) != 2 or not all(isinstance(one, bool) for one in given):
        raise ValueError("must be two booleans [low included, high included], such as [false, true]")
    return (given[0], given[1])


def _scalar(kind: str, value: Any) -> Any:
    """One value of a condition, in the type its field is compared as (ValueError if it cannot be)."""
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError("must be a single value")
    if kind == "number":
        return _decimal(value)
    if kind == "time":
        if not isinstance(value, str) or not _TIME.match(value):
            raise ValueError(f"{value!r} is not a time such as '18:30'")
        return time.fromisoformat(value)
    if kind == "date":
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a date such as '2026-03-29'") from None
    if kind == "weekday":
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 7:
            return value
        if isinstance(value, str) and value[:3].lower() in WEEKDAYS and value.isalpha():
            return WEEKDAYS.index(value[:3].lower()) + 1
        raise ValueError(f"{value!r} is not a weekday (mon..sun or 1..7, Monday is 1)")
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind in ("text", "tags"):
        if not isinstance(value, str):
            raise ValueError("must be text")
        return value
    return value  # "value": any JSON scalar


def _value_compile(kind: str, op: str, value: Any, inclusive: tuple[bool, bool]) -> Any:
    """The condition's value, checked and converted for fast evaluation (a `between`: low, high,
    and whether each is included)."""
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"'{op}' needs a non-empty list")
        return tuple(_scalar(kind, one) for one in value)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError("'between' needs a list of two values [low, high]")
        low, high = (_scalar("number" if kind == "value" else kind, one) for one in value)
        if kind == "time":
            if low == high:
                raise ValueError("a time window needs two different times")
        elif low > high:
            raise ValueError("'between' needs the lower value first")
        elif low == high and inclusive != (True, True):
            raise ValueError("equal bounds hold only when both are included")
        return (low, high, *inclusive)
    if op in ("gt", "gte", "lt", "lte") and kind == "value":
        return _scalar("number", value)
    return _scalar(kind, value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value)) if isinstance(value, (int, float, str, Decimal)) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number


def _number_or_none(value: Any) -> Decimal | None:
    try:
        return _decimal(value)
    except ValueError:
        return None


# --- facts -------------------------------------------------------------------------------------------


class FactsError(ValueError):
    """An event attribute the engine cannot read; `field` is its path (`attributes.items[2].quantity`)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Item:
    index: int
    data: dict
    quantity: Decimal
    unit_price: Decimal

    @property
    def value(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class EventFacts:
    type: str
    occurred_at: datetime
    local: datetime  # occurred_at in the brand's timezone
    attributes: dict
    amount: Decimal | None
    currency: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class MemberFacts:
    """The event's member as conditions see them (id None: a member the event would create)."""

    id: int | None
    external_id: str
    kind: str
    tier_code: str
    tags: tuple[str, ...]
    is_vip: bool
    # Why they are VIP ("" when not): subscription, tier, spend or manual (`billing.services.vip`).
    vip_source: str = ""


@dataclass(frozen=True)
class Beneficiary:
    """Who receives a rule's points: the member, or the member account of their sales rep."""

    kind: str  # "member" | "sales_rep"
    member_id: int | None
    external_id: str
    tier_multiplier: Decimal


@dataclass(frozen=True)
class Lookups:
    """Reads the engine needs from the brand's data, supplied by the caller."""

    usage: Callable[[Any, int | None, datetime, datetime], int]  # (rule, member id, start, end)
    budget_left: Callable[[Any], int]  # (rule with a global budget)
    in_segment: Callable[[str], bool]  # segment name


def event_facts(
    *, type: str, occurred_at: datetime, attributes: dict, tz: tzinfo, currency: str
) -> EventFacts:
    """Read and check what rules use from an event: amount, currency, items, date attributes."""
    amount = None
    if "amount" in attributes:
        amount = _amount(attributes["amount"], "attributes.amount")
    given_currency = attributes.get("currency", currency)
    if not isinstance(given_currency, str) or not re.fullmatch(r"[A-Z]{3}", given_currency):
        raise FactsError("attributes.currency", "must be a 3-letter ISO 4217 code such as 'EUR'")
    if given_currency != currency:
        raise FactsError(
            "attributes.currency", f"the programme counts {currency}; send amounts in {currency}"
        )
    for name, value in attributes.items():
        if DATE_ATTRIBUTE.match(name):
            _date_attribute(value, f"attributes.{name}")
    start, end = attributes.get("start"), attributes.get("end")
    if isinstance(start, str) and isinstance(end, str):
        first, last = _date_attribute(start, "attributes.start"), _date_attribute(end, "attributes.end")
        if _comparable(first, last) and last < first:
            raise FactsError("attributes.end", "is before attributes.start")
    return EventFacts(
        type=type,
        occurred_at=occurred_at,
        local=occurred_at.astimezone(tz),
        attributes=attributes,
        amount=amount,
        currency=given_currency,
        items=_items(attributes.get("items", _MISSING)),
    )


# An amount written as text: an optional sign, ASCII digits, an optional dot and digits. Decimal
# alone would also read "1_000", " 12 ", "1e3" and other scripts' digits.
_AMOUNT_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _amount(value: Any, where: str) -> Decimal:
    if isinstance(value, str) and not _AMOUNT_TEXT.fullmatch(value):
        raise FactsError(where, "must be a number such as 12.50")
    try:
        amount = _decimal(value)
    except ValueError:
        raise FactsError(where, "must be a number such as 12.50") from None
    if amount < 0:
        raise FactsError(where, "cannot be negative")
    if amount >= Decimal("1e12"):
        raise FactsError(where, "is too large")
    return amount


def _date_attribute(value: Any, where: str) -> date | datetime:
    if isinstance(value, str):
        try:
            return (
                datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
            )
        except ValueError:
            pass
    raise FactsError(where, "must be an ISO 8601 date or date-time such as '2026-03-29T18:30:00+02:00'")


def _comparable(first: date | datetime, last: date | datetime) -> bool:
    if not isinstance(first, datetime) or not isinstance(last, datetime):
        return isinstance(first, datetime) == isinstance(last, datetime)  # two dates, or never
    return (first.tzinfo is None) == (last.tzinfo is None)


def _items(raw: Any) -> tuple[Item, ...]:
    if raw is _MISSING:
        return ()
    if not isinstance(raw, list):
        raise FactsError("attributes.items", "must be a list of {sku, category, quantity, unit_price}")
    if len(raw) > MAX_ITEMS:
        raise FactsError("attributes.items", f"at most {MAX_ITEMS} items")
    items = []
    for index, data in enumerate(raw):
        where = f"attributes.items[{index}]"
        if not isinstance(data, dict):
            raise FactsError(where, "must be an object {sku, category, quantity, unit_price}")
        for key in ("sku", "category"):
            if key in data and (not isinstance(data[key], (str, int)) or isinstance(data[key], bool)):
                raise FactsError(f"{where}.{key}", "must be text")
        quantity = _amount(data.get("quantity", 1), f"{where}.quantity")
        if quantity == 0:
            raise FactsError(f"{where}.quantity", "must be more than 0")
        unit_price = _amount(data.get("unit_price", 0), f"{where}.unit_price")
        items.append(Item(index=index, data=data, quantity=quantity, unit_price=unit_price))
    return tuple(items)


# --- compiled rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # as written, for explanations
    kind: str
    compiled: Any
    inclusive: tuple[bool, bool] | None = None  # a `between`'s bounds: whether each holds


@dataclass(frozen=True)
class CompiledRule:
    rule: Any  # an EarningRule (only read)
    conditions: tuple[Condition, ...]
    item_conditions: tuple[Condition, ...]
    force_active: bool = False  # the simulator tries a rule before it is switched on


def rule_compile(rule: Any, *, force_active: bool = False) -> CompiledRule:
    """Parse a rule's conditions once (rules are validated when saved; a stored rule that no longer
    parses raises ValueError here rather than being misread)."""

    return CompiledRule(
        rule=rule,
        conditions=conditions_compile(rule.conditions, owner=f"rule {rule.pk}"),
        item_conditions=conditions_compile(rule.item_conditions, item=True, owner=f"rule {rule.pk}"),
        force_active=force_active,
    )


def conditions_compile(conditions: list | None, *, item: bool = False, owner: str) -> tuple[Condition, ...]:
    """Parse validated conditions once (ValueError naming `owner` if a stored one no longer parses)."""
    parsed = []
    for condition in conditions or ():
        kind = condition_kind(condition["field"], item=item)
        if kind is None:
            raise ValueError(f"{owner}: unknown field {condition['field']!r}")
        op = condition["op"]
        inclusive = _inclusive(kind, condition.get("inclusive", _MISSING)) if op == "between" else None
        compiled = _value_compile(kind, op, condition["value"], inclusive or (True, True))
        parsed.append(Condition(condition["field"], op, condition["value"], kind, compiled, inclusive))
    return tuple(parsed)


def rules_compile(rules: Iterable[Any]) -> list[CompiledRule]:
    return sorted((rule_compile(rule) for rule in rules), key=lambda c: (c.rule.priority, c.rule.pk or 0))


# --- condition evaluation --------------------------------------------------------------------------


def _same(actual: Any, expected: Any) -> bool:
    """Equality of JSON values, numbers compared as numbers ("3" equals 3)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    left, right = _number_or_none(actual), _number_or_none(expected)
    if left is not None and right is not None:
        return left == right
    return actual == expected


def _compare(op: str, actual: Any, expected: Any) -> bool:
    """Ordered comparisons: both sides must be of one ordered type (numbers, times, dates)."""
    if isinstance(expected, Decimal) or (isinstance(expected, tuple) and isinstance(expected[0], Decimal)):
        actual = _number_or_none(actual)
        if actual is None:
            return False
    if op == "gt":
        return actual > expected
    if op == "gte":
        return actual >= expected
    if op == "lt":
        return actual < expected
    if op == "lte":
        return actual <= expected
    low, high, low_included, high_included = expected
    above = actual > low or (low_included and actual == low)
    below = actual < high or (high_included and actual == high)
    if isinstance(low, time) and low > high:  # a window crossing midnight
        return above or below
    return above and below


def _holds(condition: Condition, actual: Any) -> bool:
    op, expected = condition.op, condition.compiled
    if actual is _MISSING or actual is None:
        return False
    if condition.kind == "tags":
        tags = set(actual)
        if op == "contains":
            return expected in tags
        return bool(tags.intersection(expected)) == (op == "in")
    if op == "equals":
        return _same(actual, expected)
    if op == "not_equals":
        return not _same(actual, expected)
    if op == "in":
        return any(_same(actual, one) for one in expected)
    if op == "not_in":
        return not any(_same(actual, one) for one in expected)
    if op == "contains":
        if isinstance(actual, list):
            return any(_same(one, expected) for one in actual)
        return isinstance(actual, str) and str(expected) in actual
    return _compare(op, actual, expected)


def _segment_holds(condition: Condition, in_segment: Callable[[str], bool]) -> tuple[bool, list[str]]:
    names = condition.compiled if isinstance(condition.compiled, tuple) else (condition.compiled,)
    inside = [name for name in names if in_segment(name)]
    holds = bool(inside) if condition.op in ("equals", "in") else not inside
    return holds, inside


def attributes_hold(conditions: Sequence[Condition], attributes: dict) -> bool:
    """Whether an event's attributes meet all the conditions (on `attributes.<key>` fields only),
    compared as a rule compares them: badges count events with this."""
    return all(_holds(condition, _attribute_value(condition.field, attributes)) for condition in conditions)


TIME_FIELDS = ("local_time", "weekday", "date")


def event_conditions_hold(conditions: Sequence[Condition], *, attributes: dict, local: datetime) -> bool:
    """Whether an event meets all the conditions on its attributes (`attributes.<key>`) and on its
    time in the brand's timezone (`TIME_FIELDS`; `local`: its occurred_at there), compared as a rule
    compares them: challenges count events with this."""
    return all(
        _holds(
            condition,
            _local_value(condition.field, local)
            if condition.field in TIME_FIELDS
            else _attribute_value(condition.field, attributes),
        )
        for condition in conditions
    )


def _local_value(field_name: str, local: datetime) -> Any:
    if field_name == "local_time":
        return local.time().replace(tzinfo=None)
    return local.isoweekday() if field_name == "weekday" else local.date()


def _attribute_value(field_name: str, attributes: dict) -> Any:
    value: Any = attributes
    for key in field_name.split(".")[1:]:
        value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
    return value


def _event_value(field_name: str, event: EventFacts, member: MemberFacts) -> Any:
    if field_name.startswith("attributes."):
        return _attribute_value(field_name, event.attributes)
    if field_name in TIME_FIELDS:
        return _local_value(field_name, event.local)
    return {
        "amount": lambda: event.amount,
        "currency": lambda: event.currency,
        "member.tier": lambda: member.tier_code,
        "member.kind": lambda: member.kind,
        "member.tags": lambda: member.tags,
        "member.vip": lambda: member.is_vip,
        "member.vip_source": lambda: member.vip_source,
    }[field_name]()


def _item_value(field_name: str, item: Item) -> Any:
    if field_name == "quantity":
        return item.quantity
    if field_name == "unit_price":
        return item.unit_price
    return item.data.get(field_name, _MISSING)


def _jsonable(value: Any) -> Any:
    if value is _MISSING:
        return None
    if isinstance(value, Decimal):
        text = format(value, "f")  # never exponents: 300, not 3E+2
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, (time, date)):
        return value.isoformat()  # a time with its seconds (and their fraction, if any): as compared
    if isinstance(value, tuple):
        return [_jsonable(one) for one in value]
    return value


def _conditions_check(
    conditions: Sequence[Condition], event: EventFacts, member: MemberFacts, lookups: Lookups
) -> tuple[bool, list[dict]]:
    """Whether all conditions hold; the checked conditions (stops at the first that fails)."""
    checked = []
    for condition in conditions:
        if condition.field == "member.segment":
            holds, actual = _segment_holds(condition, lookups.in_segment)
        else:
            actual = _event_value(condition.field, event, member)
            holds = _holds(condition, actual)
        line = {"field": condition.field, "op": condition.op, "value": condition.value}
        if condition.inclusive is not None:
            line["inclusive"] = list(condition.inclusive)
        checked.append({**line, "actual": _jsonable(actual), "holds": holds})
        if not holds:
            return False, checked
    return True, checked


def _items_matching(conditions: Sequence[Condition], items: Sequence[Item]) -> list[Item]:
    return [
        item
        for item in items
        if all(_holds(condition, _item_value(condition.field, item)) for condition in conditions)
    ]


# --- awards ----------------------------------------------------------------------------------------


@dataclass
class Award:
    """Points one rule gives one beneficiary for the event, with the explanation kept on the entry."""

    rule: Any
    beneficiary: Beneficiary
    points: int
    explanation: dict


@dataclass
class Evaluation:
    awards: list[Award]
    trace: list[dict]  # every rule considered: applied, or why not

    @property
    def points(self) -> int:
        return sum(award.points for award in self.awards)


@dataclass
class _Pending:
    compiled: CompiledRule
    beneficiary: Beneficiary
    rest: Decimal  # the part of the award not tied to items
    parts: dict[int, Decimal]  # item index -> the part earned on that item
    explanation: dict
    line: dict  # the rule's line in the trace
    multipliers: list[dict] = field(default_factory=list)
    share_of: list[Item] | None = None  # a percentage award: its matching items (none: no filter)

    @property
    def total(self) -> Decimal:
        return self.rest + sum(self.parts.values(), Decimal(0))


def rule_is_live(compiled: CompiledRule, at: datetime) -> bool:
    """Active, and `at` within its period. A rule tried before it goes live (`force_active`) is
    taken as switched on, but its period still holds: a campaign from 1 to 24 December earns
    nothing on 5 January, in the simulator too."""
    rule = compiled.rule
    if not (rule.is_active or compiled.force_active):
        return False
    if rule.active_from and at < rule.active_from:
        return False
    return not (rule.active_until and at >= rule.active_until)


def period_bounds(*, period: str, local: datetime) -> tuple[datetime, datetime]:
    """The calendar day/week (Monday)/month/year holding `local`, as aware datetimes in its timezone
    (a day is 23 or 25 hours long when daylight saving changes)."""
    day = local.date()
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    elif period == "year":
        start, end = day.replace(month=1, day=1), day.replace(year=day.year + 1, month=1, day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    zone = local.tzinfo
    return datetime.combine(start, time(), tzinfo=zone), datetime.combine(end, time(), tzinfo=zone)


def _base(
    compiled: CompiledRule, event: EventFacts, matching: list[Item]
) -> tuple[Decimal, dict, dict] | str:
    """(rest, parts per item, computation) of a non-multiplier award, or why it cannot be computed."""
    rule = compiled.rule
    award = rule.award_type
    if award == "fixed":
        points = Decimal(rule.points)
        return points, {}, {"award": "fixed", "points": rule.points}
    if award == "per_item":
        items = matching if compiled.item_conditions else list(event.items)
        if not items:
            return "the event has no items"
        parts = {item.index: Decimal(rule.points) * item.quantity for item in items}
        units = sum((item.quantity for item in items), Decimal(0))
        computation = {
            "award": "per_item",
            "points_per_item": rule.points,
            "items": [item.index for item in items],
            "units": _jsonable(units),
        }
        return Decimal(0), parts, computation
    per_unit = Decimal(rule.points_per_unit)
    if compiled.item_conditions:
        basis = sum((item.value for item in matching), Decimal(0))
        parts = {item.index: per_unit * item.value for item in matching}
        source = {"basis_from": "matching items", "items": [item.index for item in matching]}
        rest = Decimal(0)
    else:
        if event.amount is None:
            return "the event has no amount"
        basis = event.amount
        raw = per_unit * basis
        items_total = sum((item.value for item in event.items), Decimal(0))
        if items_total and items_total > basis:
            parts = {item.index: raw * item.value / items_total for item in event.items}
        else:
            parts = {item.index: per_unit * item.value for item in event.items}
        rest = raw - sum(parts.values(), Decimal(0))
        source = {"basis_from": "amount"}
    computation = {
        "award": "per_amount",
        "points_per_unit": _jsonable(per_unit),
        "basis": _jsonable(basis),
        "currency": event.currency,
        **source,
        "raw": _jsonable(per_unit * basis),
    }
    return rest, parts, computation


def _multiply(multiplier: CompiledRule, target: _Pending, matching: list[Item]) -> dict:
    """Apply a multiplier rule to an earlier award; returns what it did, for the explanation."""
    factor = Decimal(multiplier.rule.multiplier)
    before = target.total
    if not multiplier.item_conditions:
        target.rest *= factor
        target.parts = {index: part * factor for index, part in target.parts.items()}
        scope: Any = "all"
    else:
        scope = [item.index for item in matching if item.index in target.parts]
        for index in scope:
            target.parts[index] *= factor
    step = {
        "rule": {"id": multiplier.rule.pk, "name": multiplier.rule.name},
        "multiplier": _jsonable(factor),
        "items": scope,
        "before": _jsonable(before),
        "after": _jsonable(target.total),
    }
    target.multipliers.append(step)
    return step


def _finish(pending: _Pending, event: EventFacts, lookups: Lookups) -> tuple[int, dict]:
    """Tier multiplier, rounding and caps: the points of one award and its full explanation."""
    rule = pending.compiled.rule
    explanation = pending.explanation
    total = pending.total
    if pending.multipliers:
        explanation["multipliers"] = pending.multipliers
    if rule.apply_tier_multiplier:
        factor = pending.beneficiary.tier_multiplier
        explanation["tier_multiplier"] = _jsonable(factor)
        total *= factor
    points = int(total.to_integral_value(rounding=_ROUNDING[rule.rounding]))
    explanation["computed"] = {
        "amount": _jsonable(total),
        "rounding": rule.rounding,
        "points": points,
    }
    caps = []

    def cap(name: str, limit: int, **details: Any) -> None:
        nonlocal points
        if points > limit:
            caps.append({"cap": name, "limit": limit, "before": points, "after": max(limit, 0), **details})
            points = max(limit, 0)

    if rule.max_points_per_event is not None:
        cap("max_points_per_event", rule.max_points_per_event)
    if rule.limit_period and rule.limit_points is not None:
        start, end = period_bounds(period=rule.limit_period, local=event.local)
        used = lookups.usage(rule, pending.beneficiary.member_id, start, end)
        caps_before = len(caps)
        cap(
            f"per_{rule.limit_period}",
            rule.limit_points - used,
            period={"start": start.isoformat(), "end": end.isoformat()},
            already_earned=used,
            period_limit=rule.limit_points,
        )
        if len(caps) == caps_before:
            explanation["period"] = {
                "limit": rule.limit_points,
                "already_earned": used,
                "period": rule.limit_period,
            }
    if rule.global_budget is not None:
        cap("global_budget", lookups.budget_left(rule), budget=rule.global_budget)
    if caps:
        explanation["caps"] = caps
    explanation["points"] = points
    return points, explanation


def rules_evaluate(
    *,
    rules: Sequence[CompiledRule],
    event: EventFacts,
    member: MemberFacts,
    beneficiaries: dict[str, Beneficiary | None],
    lookups: Lookups,
    sales_rep_missing: str = "the member has no sales rep",
) -> Evaluation:
    """What the event earns under `rules` (compiled, in priority order), and why.

    `beneficiaries` maps "member" and "sales_rep" to who receives those rules' points (None when
    there is no one: `sales_rep_missing` says why)."""
    pending: list[_Pending] = []
    trace: list[dict] = []
    for compiled in rules:
        rule = compiled.rule
        line: dict[str, Any] = {"rule": {"id": rule.pk, "name": rule.name}, "priority": rule.priority}
        trace.append(line)
        if not rule_is_live(compiled, event.occurred_at):
            line.update(applied=False, reason="the rule is not active at the event's time")
            continue
        holds, checked = _conditions_check(compiled.conditions, event, member, lookups)
        line["conditions"] = checked
        if not holds:
            failed = checked[-1]
            line.update(applied=False, reason=f"condition on {failed['field']} does not hold")
            continue
        matching: list[Item] = []
        if compiled.item_conditions:
            matching = _items_matching(compiled.item_conditions, event.items)
            line["matching_items"] = [item.index for item in matching]
            if not matching:
                line.update(applied=False, reason="no item meets the item conditions")
                continue
        beneficiary = beneficiaries.get(rule.beneficiary)
        if beneficiary is None:
            line.update(applied=False, reason=sales_rep_missing)
            continue
        if rule.award_type == "multiplier":
            targets = [p for p in pending if p.beneficiary.kind == beneficiary.kind and p.share_of is None]
            line["multiplied"] = [_multiply(compiled, target, matching)["after"] for target in targets]
            line.update(
                applied=bool(targets), reason="" if targets else "no earlier rule gave points to multiply"
            )
        else:
            base: tuple[Decimal, dict[int, Decimal], dict] | str
            if rule.award_type == "percentage":  # computed once the member's awards are final
                base = Decimal(0), {}, {"award": "percentage"}
            else:
                base = _base(compiled, event, matching)
            if isinstance(base, str):
                line.update(applied=False, reason=base)
                continue
            rest, parts, computation = base
            explanation = {
                "rule": {"id": rule.pk, "name": rule.name},
                "event": {"type": event.type, "local_time": event.local.isoformat()},
                "beneficiary": {"kind": beneficiary.kind, "member": beneficiary.external_id},
                "conditions": checked,
                "computation": computation,
            }
            if compiled.item_conditions:
                explanation["item_conditions"] = {
                    "conditions": [
                        {"field": c.field, "op": c.op, "value": c.value} for c in compiled.item_conditions
                    ],
                    "matching_items": [item.index for item in matching],
                }
            share_of = matching if rule.award_type == "percentage" else None
            pending.append(_Pending(compiled, beneficiary, rest, parts, explanation, line, share_of=share_of))
            line.update(applied=True, reason="")
        if rule.stop_after:
            line["stopped_here"] = True
            break
    finished: dict[int, tuple[int, dict]] = {}
    for index, item in enumerate(pending):
        if item.share_of is None:
            finished[index] = _finish(item, event, lookups)
    member_awards = [
        (item, finished[index][0])
        for index, item in enumerate(pending)
        if item.share_of is None and item.beneficiary.kind == "member"
    ]
    for index, item in enumerate(pending):
        if item.share_of is not None:
            _percentage(item, member_awards, member=member.external_id)
            finished[index] = _finish(item, event, lookups)
    awards = []
    for index, item in enumerate(pending):
        points, explanation = finished[index]
        item.line["points"] = points
        if points > 0:
            awards.append(Award(item.compiled.rule, item.beneficiary, points, explanation))
    return Evaluation(awards=awards, trace=trace)


def _percentage(pending: _Pending, member_awards: list[tuple[_Pending, int]], *, member: str) -> None:
    """Set a percentage award's amount from the member's final awards: `percent` / 100 x their
    points (with item conditions, the share of each award's points earned on the matching items)."""
    all_items = not pending.compiled.item_conditions
    indexes = [item.index for item in pending.share_of or ()]
    sources, basis = [], Decimal(0)
    for award, points in member_awards:
        whole = award.total
        on_items = whole if all_items else sum((award.parts.get(i, Decimal(0)) for i in indexes), Decimal(0))
        if points <= 0 or not whole or not on_items:
            continue
        share = points * on_items / whole
        basis += share
        sources.append(
            {
                "rule": {"id": award.compiled.rule.pk, "name": award.compiled.rule.name},
                "points": points,
                "share": _jsonable(share),
            }
        )
    percent = Decimal(pending.compiled.rule.percent)
    pending.rest = percent * basis / 100
    pending.explanation["computation"] = {
        "award": "percentage",
        "percent": _jsonable(percent),
        "of_member": member,
        "items": "all" if all_items else indexes,
        "from": sources,
        "basis": _jsonable(basis),
        "raw": _jsonable(pending.rest),
    }
    if not sources:
        pending.line.update(applied=False, reason="the member earned no points on the matching items")
