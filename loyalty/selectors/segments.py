"""Segments: saved, structured filters over members, turned into a queryset.

The filter structure (every key optional, all given keys must hold; anonymised members never match):

    {
      "tiers": ["gold", "silver", null],          # tier codes; null: members without a tier
      "balance": {"min": 100, "max": 5000},       # points, inclusive
      "last_activity": {"within_days": 30}        # active in the last N days
                    or {"not_within_days": 90},   # inactive for N days (or never active)
      "tags": {"any": ["wine"], "all": ["b2b"], "none": ["staff"]},
      "kind": "customer" | "reseller",
      "consents": {"email": true, "sms": false},  # granted / not granted, per channel
      "joined": {"after": "2026-01-01", "before": "2026-07-01"},  # local dates: on/after, before
      "sales_rep": 12 | null,                     # the staff user's id; null: no sales rep
      "vip": true,
      "status": ["active", "blocked"]         # anonymised members never match
    }

Days and dates are the brand's (its timezone). Validation names the key at fault ("balance.min").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from loyalty.models import Consent, Member, Segment, Tier
from tenants.selectors import brand_timezone

KEYS = (
    "tiers",
    "balance",
    "last_activity",
    "tags",
    "kind",
    "consents",
    "joined",
    "sales_rep",
    "vip",
    "status",
)
# Anonymised members are never part of a segment.
STATUSES = (Member.Status.ACTIVE.value, Member.Status.BLOCKED.value)


class SegmentFilterError(ValueError):
    """A malformed segment filter; `errors` maps each key (dotted for nested ones) to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in errors.items()))
        self.errors = errors


def filter_field(key: str) -> str:
    """The field a filter error names in a segment: its path under `filters` (`filters.balance.min`)."""
    return "filters" if key == "filters" else f"filters.{key}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _range_errors(
    key: str, value: Any, parts: tuple[str, str], check: Callable[[Any], bool], expected: str
) -> dict[str, list[str]]:
    if not isinstance(value, dict) or not value or set(value) - set(parts):
        return {key: [f"must be an object with {' and/or '.join(parts)}"]}
    errors = {
        f"{key}.{part}": [f"must be {expected}"] for part in parts if part in value and not check(value[part])
    }
    return errors


def _date_ok(value: Any) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def segment_filters_errors(filters: Any) -> dict[str, list[str]]:
    """Everything wrong with a filter structure, by key (empty when it is valid)."""
    if not isinstance(filters, dict):
        return {"filters": ["must be an object of filters"]}
    errors: dict[str, list[str]] = {
        key: [f"is not a segment filter (use {', '.join(KEYS)})"] for key in filters if key not in KEYS
    }
    if "tiers" in filters:
        codes = filters["tiers"]
        if not isinstance(codes, list) or not all(code is None or isinstance(code, str) for code in codes):
            errors["tiers"] = ["must be a list of tier codes (null for no tier)"]
        else:
            known = set(Tier.objects.filter(code__in=[c for c in codes if c]).values_list("code", flat=True))
            unknown = [code for code in codes if code is not None and code not in known]
            if unknown:
                errors["tiers"] = [f"unknown tier code(s): {', '.join(unknown)}"]
    if "balance" in filters:
        errors.update(_range_errors("balance", filters["balance"], ("min", "max"), _is_int, "a whole number"))
    if "last_activity" in filters:
        value = filters["last_activity"]
        if not isinstance(value, dict) or len(value) != 1 or set(value) - {"within_days", "not_within_days"}:
            errors["last_activity"] = ["must be {'within_days': N} or {'not_within_days': N}"]
        elif not (_is_int(next(iter(value.values()))) and next(iter(value.values())) >= 0):
            errors[f"last_activity.{next(iter(value))}"] = ["must be a whole number of days, 0 or more"]
    if "tags" in filters:
        value = filters["tags"]
        if not isinstance(value, dict) or not value or set(value) - {"any", "all", "none"}:
            errors["tags"] = ["must be an object with any, all and/or none"]
        else:
            for part, tags in value.items():
                if not isinstance(tags, list) or not tags or not all(isinstance(tag, str) for tag in tags):
                    errors[f"tags.{part}"] = ["must be a non-empty list of tags"]
    if "kind" in filters and filters["kind"] not in Member.Kind.values:
        errors["kind"] = [f"must be one of {', '.join(Member.Kind.values)}"]
    if "consents" in filters:
        value = filters["consents"]
        if not isinstance(value, dict) or not value:
            errors["consents"] = ["must be an object of channel: true/false"]
        else:
            for channel, granted in value.items():
                if channel not in Consent.Channel.values:
                    errors[f"consents.{channel}"] = [
                        f"unknown channel (use {', '.join(Consent.Channel.values)})"
                    ]
                elif not isinstance(granted, bool):
                    errors[f"consents.{channel}"] = ["must be true or false"]
    if "joined" in filters:
        errors.update(
            _range_errors("joined", filters["joined"], ("after", "before"), _date_ok, "a YYYY-MM-DD date")
        )
    if "sales_rep" in filters:
        rep = filters["sales_rep"]
        if rep is not None and not (_is_int(rep) and get_user_model().objects.filter(pk=rep).exists()):
            errors["sales_rep"] = ["must be the id of a user of this brand, or null"]
    if "vip" in filters and not isinstance(filters["vip"], bool):
        errors["vip"] = ["must be true or false"]
    if "status" in filters:
        statuses = filters["status"]
        if not isinstance(statuses, list) or not statuses or set(statuses) - set(STATUSES):
            errors["status"] = [f"must be a non-empty list of {', '.join(STATUSES)}"]
    return errors


def _local_midnight(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.min, tzinfo=brand_timezone())


def segment_filters_members(*, filters: dict) -> QuerySet[Member]:
    """The members matching a filter structure (raises SegmentFilterError when it is malformed)."""
    errors = segment_filters_errors(filters)
    if errors:
        raise SegmentFilterError(errors)
    query = ~Q(status=Member.Status.ANONYMISED)
    if "tiers" in filters:
        codes = filters["tiers"]
        tiers = Q(tier__code__in=[code for code in codes if code is not None])
        query &= tiers | Q(tier__isnull=True) if None in codes else tiers
    balance = filters.get("balance", {})
    if "min" in balance:
        query &= Q(balance__gte=balance["min"])
    if "max" in balance:
        query &= Q(balance__lte=balance["max"])
    activity = filters.get("last_activity", {})
    if "within_days" in activity:
        query &= Q(last_activity_at__gte=timezone.now() - timedelta(days=activity["within_days"]))
    if "not_within_days" in activity:
        since = timezone.now() - timedelta(days=activity["not_within_days"])
        query &= Q(last_activity_at__lt=since) | Q(last_activity_at__isnull=True)
    tags = filters.get("tags", {})
    if "any" in tags:
        query &= Q(tags__overlap=tags["any"])
    if "all" in tags:
        query &= Q(tags__contains=tags["all"])
    if "none" in tags:
        query &= ~Q(tags__overlap=tags["none"])
    if "kind" in filters:
        query &= Q(kind=filters["kind"])
    for channel, granted in filters.get("consents", {}).items():
        given = Exists(Consent.objects.filter(member=OuterRef("pk"), channel=channel, granted=True))
        query &= Q(given) if granted else ~Q(given)
    joined = filters.get("joined", {})
    if "after" in joined:
        query &= Q(joined_at__gte=_local_midnight(joined["after"]))
    if "before" in joined:
        query &= Q(joined_at__lt=_local_midnight(joined["before"]))
    if "sales_rep" in filters:
        rep = filters["sales_rep"]
        query &= Q(sales_rep__isnull=True) if rep is None else Q(sales_rep_id=rep)
    if "vip" in filters:
        query &= Q(is_vip=filters["vip"])
    if "status" in filters:
        query &= Q(status__in=filters["status"])
    return Member.objects.filter(query)


def segment_members(*, segment: Segment) -> QuerySet[Member]:
    return segment_filters_members(filters={} if segment.filters is None else segment.filters)


def segments_list() -> QuerySet[Segment]:
    """Every segment of the brand, by name."""
    return Segment.objects.order_by("name", "id")


def segment_get(*, segment_id: int) -> Segment | None:
    return Segment.objects.filter(pk=segment_id).first()


@dataclass(frozen=True)
class SegmentPreview:
    """How many members a segment holds now, and the first of them by external id."""

    count: int
    sample: list[Member]


def segment_preview(*, segment: Segment, sample: int = 10) -> SegmentPreview:
    """The segment's members now: their count and `sample` of them (raises SegmentFilterError
    when its saved filters no longer hold, such as a tier deleted since)."""
    members = segment_members(segment=segment)
    return SegmentPreview(count=members.count(), sample=list(members.order_by("external_id")[:sample]))
