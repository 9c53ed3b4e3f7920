"""Programme settings: the brand's point value, expiry, pending period, overdraft, auto-creation,
tier qualification and the member site's languages. One row per brand schema
(`loyalty.selectors.programme.programme_settings`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from core.audit import audit_saved, audit_snapshot
from core.errors import InvalidInput
from loyalty.models import ProgrammeSettings
from loyalty.selectors.programme import programme_settings

EDITABLE_FIELDS = (
    "programme_name",
    "points_per_unit",
    "unit_value",
    "currency",
    "expiry_policy",
    "expiry_days",
    "activation_code_days",
    "pending_days",
    "overdraft_limit",
    "auto_create_members",
    "signup_open",
    "tier_metric",
    "tier_metric_event_type",
    "tier_window",
    "tier_window_months",
    "tier_downgrade",
    "tier_grace_days",
    "site_languages",
    "default_language",
    "vip_spend_amount",
    "vip_spend_months",
)


def programme_settings_validate(*, data: dict[str, Any]) -> ProgrammeSettings:
    """The settings row with `data` applied and checked, not saved (the backoffice form uses it too)."""
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a programme setting"] for field in unknown})
    row = programme_settings()
    for field, value in data.items():
        setattr(row, field, value)
    errors: dict[str, list[str]] = {}
    try:
        row.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    # The checks below read fields whose type is right only: a field full_clean refused keeps the
    # value given (a list, a number for a code...).
    if "currency" not in errors:
        row.currency = (row.currency or "").upper()
        if len(row.currency) != 3 or not row.currency.isalpha():
            errors["currency"] = ["is a 3-letter ISO 4217 code, such as EUR"]
    if row.expiry_policy == ProgrammeSettings.Expiry.DAYS and not row.expiry_days:
        errors.setdefault("expiry_days", []).append("is required (1 or more) when points expire after N days")
    if "unit_value" not in errors and row.unit_value is not None and row.unit_value <= 0:
        errors.setdefault("unit_value", []).append("must be more than 0")
    if row.tier_metric == ProgrammeSettings.TierMetric.EVENT_COUNT and not row.tier_metric_event_type:
        errors.setdefault("tier_metric_event_type", []).append(
            "is required when tiers qualify on a count of events"
        )
    if row.tier_window == ProgrammeSettings.TierWindow.ROLLING_MONTHS and not row.tier_window_months:
        errors.setdefault("tier_window_months", []).append("is required (1 or more) for a rolling window")
    if "vip_spend_amount" not in errors and row.vip_spend_amount is not None and row.vip_spend_amount <= 0:
        errors["vip_spend_amount"] = ["must be more than 0, or empty for no spend rule"]
    if "vip_spend_months" not in errors and not row.vip_spend_months:
        errors["vip_spend_months"] = ["is required (1 or more): the window of the VIP spend rule"]
    if "site_languages" not in errors:
        row.site_languages = list(dict.fromkeys(row.site_languages or []))
        if not row.site_languages:
            errors["site_languages"] = ["names one language of the site at least, such as en"]
        elif "default_language" not in errors and row.default_language not in row.site_languages:
            errors.setdefault("default_language", []).append("is one of the site's languages")
    if errors:
        raise InvalidInput(errors)
    if row.expiry_policy != ProgrammeSettings.Expiry.DAYS:
        row.expiry_days = None
    return row


def programme_settings_update(*, data: dict[str, Any]) -> ProgrammeSettings:
    """Save the settings. A new overdraft limit applies to every member at once (set-based); a member
    already owing more than the new limit keeps what they owe as their limit until repaid."""
    with transaction.atomic():
        current, _ = ProgrammeSettings.objects.select_for_update().get_or_create(id=1)
        before = audit_snapshot(current)
        row = programme_settings_validate(data=data)
        previous_limit = ProgrammeSettings.objects.values_list("overdraft_limit", flat=True).get(id=1)
        row.save()
        if row.overdraft_limit != previous_limit:
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE loyalty_member SET overdraft_limit = GREATEST(%s, points_owed) "
                    "WHERE overdraft_limit IS DISTINCT FROM GREATEST(%s, points_owed)",
                    [row.overdraft_limit, row.overdraft_limit],
                )
        audit_saved(obj=row, before=before)
    return row
