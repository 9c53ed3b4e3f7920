"""The operator's plans for brands (README.md, "Platform plans"): a plan's limits (members, messages
sent a month) and the platform's fee on VIP payments; each brand's usage, counted in its schema by
the usage task; a limit crossed is recorded once a month (`PlanOverage`) and shown to the operator
and to the brand. Nothing is refused for it: members are still created and messages still sent."""

from __future__ import annotations

import logging
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import get_public_schema_name, schema_context

from core.errors import InvalidInput
from loyalty.models import Member
from messaging.models import Channel, Message

from .models import Brand, PlanOverage, PlatformPlan

logger = logging.getLogger(__name__)

PLAN_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# PositiveIntegerField's range in PostgreSQL.
LIMIT_MAX = 2_147_483_647
LIMIT_LABELS = {
    PlanOverage.Limit.MEMBERS: gettext_lazy("Members"),
    PlanOverage.Limit.MESSAGES: gettext_lazy("Messages this month"),
}


# --- plans ------------------------------------------------------------------------------------------


def plan_list() -> QuerySet[PlatformPlan]:
    return PlatformPlan.objects.all()


def plan_create(
    *,
    code: str,
    name: str,
    members_limit: int | None = None,
    messages_per_month: int | None = None,
    application_fee_percent: Decimal | str | int = Decimal("0"),
) -> PlatformPlan:
    """A new plan; empty limits are no limit. Bad inputs raise `InvalidInput` naming each field."""
    values = _plan_clean(
        code=code,
        name=name,
        members_limit=members_limit,
        messages_per_month=messages_per_month,
        application_fee_percent=application_fee_percent,
        plan=None,
    )
    try:
        with transaction.atomic():
            plan = PlatformPlan.objects.create(**values)
    except IntegrityError:  # the same code created meanwhile
        raise _code_taken(values["code"]) from None
    logger.info("platform plan %s created", plan.code)
    return plan


def plan_update(
    *,
    plan: PlatformPlan,
    code: str,
    name: str,
    members_limit: int | None,
    messages_per_month: int | None,
    application_fee_percent: Decimal | str | int,
) -> PlatformPlan:
    """Change a plan: its brands have the new limits and fee from now on (the fee on the VIP
    payments made after the change)."""
    values = _plan_clean(
        code=code,
        name=name,
        members_limit=members_limit,
        messages_per_month=messages_per_month,
        application_fee_percent=application_fee_percent,
        plan=plan,
    )
    try:
        with transaction.atomic():
            locked = PlatformPlan.objects.select_for_update().get(pk=plan.pk)
            for field, value in values.items():
                setattr(locked, field, value)
            locked.save(update_fields=list(values))
    except IntegrityError:
        raise _code_taken(values["code"]) from None
    logger.info("platform plan %s changed", locked.code)
    return locked


def _plan_clean(
    *,
    code: str,
    name: str,
    members_limit: int | None,
    messages_per_month: int | None,
    application_fee_percent: Decimal | str | int,
    plan: PlatformPlan | None,
) -> dict:
    errors: dict[str, list[str]] = {}
    code = (code or "").strip()
    if not PLAN_CODE.match(code):
        errors["code"] = [_("a plan's code is 1 to 40 lowercase letters, digits and hyphens")]
    else:
        same_code = PlatformPlan.objects.filter(code=code)
        if (same_code.exclude(pk=plan.pk) if plan else same_code).exists():
            errors["code"] = [_code_taken(code).message]
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("a plan needs a name")]
    elif len(name) > 80:
        errors["name"] = [_("a plan's name is at most 80 characters")]
    for field, limit in (("members_limit", members_limit), ("messages_per_month", messages_per_month)):
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= LIMIT_MAX
        ):
            errors[field] = [_("a limit is a whole number from 0 up, or empty for no limit")]
    fee = _fee_parse(application_fee_percent)
    if fee is None:
        errors["application_fee_percent"] = [
            _("the application fee is a percentage between 0 and 100, with at most two decimals")
        ]
    if errors:
        raise InvalidInput(errors)
    return {
        "code": code,
        "name": name,
        "members_limit": members_limit,
        "messages_per_month": messages_per_month,
        "application_fee_percent": fee,
    }


def _fee_parse(value: Decimal | str | int) -> Decimal | None:
    if isinstance(value, float | bool):
        return None
    try:
        fee = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if (
        not fee.is_finite()
        or not Decimal("0") <= fee <= Decimal("100")
        or fee != fee.quantize(Decimal("0.01"))
    ):
        return None
    return fee.quantize(Decimal("0.01"))


def _code_taken(code: str) -> InvalidInput:
    return InvalidInput(_("a plan with code '%(code)s' already exists") % {"code": code}, field="code")


def brand_plan_assign(*, brand: Brand, plan: PlatformPlan | None) -> Brand:
    """Put a brand on a plan (None: no plan, no limit). Its last usage is checked against the new
    limits at once: a crossing is recorded without waiting for the next count."""
    if brand.schema_name == get_public_schema_name():
        raise InvalidInput(_("the platform itself has no plan"), field="brand")
    with transaction.atomic():
        locked = Brand.objects.select_for_update().get(pk=brand.pk)
        locked.platform_plan = plan
        locked.save(update_fields=["platform_plan"])
        plan_overages_record(brand=locked, usage=locked.usage)
    logger.info("brand %s on platform plan %s", locked.slug, plan.code if plan else "(none)")
    return locked


# --- usage ------------------------------------------------------------------------------------------


def month_bounds(*, brand: Brand, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The calendar month of `now` in the brand's timezone: its first instant and the next month's."""
    local = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(brand.timezone))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, (start + timedelta(days=32)).replace(day=1)


def brand_usage_count(*, brand: Brand, now: datetime | None = None) -> dict:
    """The brand's figures, counted in its schema in one statement (counts only, no row read):
    users, staff users, members (all of them), and the messages sent this month (`sent_at` in the
    brand's calendar month) per channel."""
    start, end = month_bounds(brand=brand, now=now)
    channels = list(Channel.values)
    quote = connection.ops.quote_name
    users = quote(get_user_model()._meta.db_table)
    # Table names and placeholders only.
    statement = (
        f"SELECT (SELECT count(*) FROM {users}), (SELECT count(*) FROM {users} WHERE is_staff), "  # noqa: S608
        f"(SELECT count(*) FROM {quote(Member._meta.db_table)}), "
        + ", ".join("count(*) FILTER (WHERE channel = %s)" for _channel in channels)
        + f" FROM {quote(Message._meta.db_table)} WHERE sent_at >= %s AND sent_at < %s"
    )
    with schema_context(brand.schema_name), connection.cursor() as cursor:
        cursor.execute(statement, [*channels, start, end])
        row = cursor.fetchone()
    messages = dict(zip(channels, row[3:], strict=True))
    return {
        "users": row[0],
        "staff_users": row[1],
        "members": row[2],
        "month": f"{start:%Y-%m}",
        "messages": messages,
        "messages_total": sum(messages.values()),
    }


def plan_overages_record(*, brand: Brand, usage: dict) -> list[PlanOverage]:
    """Record each limit of the brand's plan that `usage` (`brand_usage_count`'s) is over, once per
    month and limit, with a log line the first time; the crossings newly recorded."""
    plan = brand.platform_plan
    if plan is None or "month" not in usage:
        return []
    month = date.fromisoformat(f"{usage['month']}-01")
    limits = (
        (PlanOverage.Limit.MEMBERS, plan.members_limit, usage.get("members")),
        (PlanOverage.Limit.MESSAGES, plan.messages_per_month, usage.get("messages_total")),
    )
    recorded = []
    for limit, allowed, used in limits:
        if allowed is None or used is None or used <= allowed:
            continue
        with transaction.atomic():
            overage, created = PlanOverage.objects.get_or_create(
                brand=brand,
                month=month,
                limit=limit,
                defaults={"plan": plan, "allowed": allowed, "used": used},
            )
        if created:
            logger.warning(
                "brand %s over its plan %s in %s: %s %d for %d allowed (nothing is refused)",
                brand.slug,
                plan.code,
                usage["month"],
                limit,
                used,
                allowed,
            )
            recorded.append(overage)
    return recorded


@dataclass(frozen=True)
class UsageLine:
    """One limit of a brand's plan against what was last counted (None: not counted this month)."""

    limit: str
    used: int | None
    allowed: int | None
    # Messages: (channel's name, count) of the month.
    channels: tuple[tuple[str, int], ...] = ()

    @property
    def label(self) -> str:
        return str(LIMIT_LABELS[PlanOverage.Limit(self.limit)])

    @property
    def over(self) -> bool:
        return self.used is not None and self.allowed is not None and self.used > self.allowed


def brand_usage_lines(*, brand: Brand, now: datetime | None = None) -> list[UsageLine]:
    """The brand's last counted usage against its plan's limits (no plan: no limit). A count of an
    earlier month says nothing of this month's messages."""
    plan = brand.platform_plan
    usage = brand.usage or {}
    this_month = f"{month_bounds(brand=brand, now=now)[0]:%Y-%m}"
    counted = usage.get("month") == this_month
    by_channel = usage.get("messages", {}) if counted else {}
    channels = tuple(
        (str(Channel(channel).label), by_channel[channel])
        for channel in Channel.values
        if by_channel.get(channel)
    )
    return [
        UsageLine(PlanOverage.Limit.MEMBERS, usage.get("members"), plan.members_limit if plan else None),
        UsageLine(
            PlanOverage.Limit.MESSAGES,
            usage.get("messages_total") if counted else None,
            plan.messages_per_month if plan else None,
            channels,
        ),
    ]


def plan_overages_of_month(*, brand: Brand, now: datetime | None = None) -> QuerySet[PlanOverage]:
    """The crossings recorded for the brand in this month (its timezone's)."""
    month = month_bounds(brand=brand, now=now)[0].date()
    return PlanOverage.objects.filter(brand=brand, month=month).order_by("limit")


def plan_overages_recent(*, limit: int = 50) -> QuerySet[PlanOverage]:
    """Every brand's latest crossings, for the operator."""
    return PlanOverage.objects.select_related("brand", "plan").order_by("-recorded_at", "-id")[:limit]
