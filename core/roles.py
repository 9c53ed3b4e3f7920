"""Backoffice roles (README "Backoffice roles"): what each staff role may do, as data.

A staff user's role is their `StaffProfile.role`; the project's authentication backend
(`core.lockout.LockoutModelBackend`) answers `user.has_perm("app_label.codename")` from the map
below, so Django's admin enforces it on every page, direct URL and admin action, and every other
check is a `has_perm` too. Superusers pass everything (Django's own rule).

A role is a set of permission patterns (`fnmatch`: `"catalog.*"`, `"*.view_*"`) less a set of
patterns it never gets; `ROLE_PERMISSIONS` expands them over every permission known (each model's
`view_`/`add_`/`change_`/`delete_` and `Meta.permissions`, plus `CUSTOM_PERMISSIONS`, which need no
`Permission` row), so a model added later falls in the roles whose patterns name it."""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import cache
from types import MappingProxyType
from typing import Any

from django.apps import apps
from django_tenants.utils import get_public_schema_name

from core.models import StaffProfile, StaffSettings
from tenants.selectors import schema_current

Role = StaffProfile.Role

# Permissions checked by code, not by a model's admin (README "Backoffice roles" lists each).
CUSTOM_PERMISSIONS = frozenset(
    {
        "core.manage_staff",  # invite staff, change roles, staff settings
        "core.manage_api_keys",
        "core.view_auditentry",  # the audit list
        "core.view_job",  # the jobs page; each job also needs its kind's permission
        "loyalty.view_every_member",  # without it: only the members whose `sales_rep` is the user
        "loyalty.adjust_points",
        "loyalty.block_member",
        "loyalty.issue_activation_code",
        "loyalty.erase_member",
        "loyalty.export_member_data",  # GDPR export
        "loyalty.import_members",
        "loyalty.import_events",
        "loyalty.export_members",
        "loyalty.export_ledger",
        "catalog.import_gifts",
        "catalog.import_codes",
        "catalog.export_orders",
        "messaging.resend_message",
        "backoffice.view_dashboard",
    }
)

# Staff accounts and API keys: the owner's alone.
STAFF = ("auth.*", "sessions.*", "core.*_staffprofile", "core.*_staffsettings", "core.manage_staff")
API_KEYS = ("core.*_apikey", "core.manage_api_keys")
IMPORTS_EXPORTS = (
    "loyalty.import_members",
    "loyalty.import_events",
    "loyalty.export_members",
    "loyalty.export_ledger",
    "catalog.import_gifts",
    "catalog.import_codes",
    "catalog.export_orders",
)
# What a member's service page shows besides the member (read only).
MEMBER_DETAILS_VIEW = (
    "loyalty.view_member",
    "loyalty.view_memberaudit",
    "loyalty.view_consent",
    "loyalty.view_consentchange",
    "loyalty.view_ledgerentry",
    "loyalty.view_pointlot",
    "loyalty.view_activityevent",
    "loyalty.view_tierchange",
    "loyalty.view_memberbadge",
    "loyalty.view_activationcode",
    "catalog.view_order",
    "catalog.view_orderline",
    "catalog.view_orderevent",
    "messaging.view_message",
    "billing.view_subscription",
    "billing.view_subscriptionchange",
    "billing.view_payment",
    "billing.view_customer",
)

# What support handles in the community: the moderation queue (every text's change), review
# follow-ups, contributions and club service requests; it reads the rest.
COMMUNITY_SUPPORT = (
    "community.view_*",
    "community.change_review",
    "community.change_reviewreport",
    "community.change_followup",
    "community.change_question",
    "community.change_answer",
    "community.change_thread",
    "community.change_reply",
    "community.change_conversation",
    "community.change_conversationmessage",
    "community.change_contribution",
    "community.change_servicerequest",
)

# role -> (patterns granted, patterns never granted); a denial wins.
ROLE_PATTERNS: MappingProxyType[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        Role.OWNER: (("*",), ()),
        Role.MANAGER: (
            (
                # programme, rules, tiers, badges, segments, offers
                "loyalty.*_programmesettings",
                "loyalty.view_programmerevision",
                "loyalty.*_eventtype",
                "loyalty.*_earningrule",
                "loyalty.*_tier",
                "loyalty.*_badge",
                "loyalty.*_segment",
                "loyalty.*_offer",
                # members are read (imports land there), not changed
                *MEMBER_DETAILS_VIEW,
                "loyalty.view_every_member",
                "catalog.*",
                "messaging.*",
                "billing.*",  # VIP
                "clubs.*",
                "gatherings.*",  # events
                "community.*",
                "themes.*",
                *IMPORTS_EXPORTS,
                "backoffice.view_dashboard",
                "core.view_job",
                "core.view_auditentry",
            ),
            (*STAFF, *API_KEYS),
        ),
        Role.SUPPORT: (
            (
                *MEMBER_DETAILS_VIEW,
                "loyalty.view_every_member",
                "loyalty.change_member",
                "loyalty.block_member",
                "loyalty.adjust_points",  # up to StaffSettings.support_adjust_limit
                "loyalty.issue_activation_code",
                "loyalty.erase_member",
                "loyalty.export_member_data",
                "catalog.change_order",
                "messaging.resend_message",
                # the community's queues: moderation, follow-ups, contributions, service requests
                *COMMUNITY_SUPPORT,
                "backoffice.view_dashboard",
                "core.view_job",
            ),
            (*STAFF, *API_KEYS),
        ),
        # Their portfolio (members whose `sales_rep` they are), read only, nothing else.
        Role.SALES_REP: (MEMBER_DETAILS_VIEW, (*STAFF, *API_KEYS)),
        Role.ANALYST: (
            (
                "*.view_*",
                "loyalty.view_every_member",
                "backoffice.view_dashboard",
                "loyalty.export_members",
                "loyalty.export_ledger",
                "catalog.export_orders",
            ),
            (*STAFF, *API_KEYS),
        ),
    }
)


@cache
def known_permissions() -> frozenset[str]:
    """Every permission string there is: each model's (Django's defaults and `Meta.permissions`) and
    the custom ones."""
    found = set(CUSTOM_PERMISSIONS)
    for model in apps.get_models():
        meta = model._meta
        found.update(f"{meta.app_label}.{action}_{meta.model_name}" for action in meta.default_permissions)
        found.update(f"{meta.app_label}.{codename}" for codename, _name in meta.permissions)
    return frozenset(found)


def _matches(perm: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(perm, pattern) for pattern in patterns)


def role_allows(*, role: str, perm: str) -> bool:
    """Whether `role` has `perm` ("app_label.codename"), known or not (an owner has everything)."""
    granted, denied = ROLE_PATTERNS.get(role, ((), ()))
    return _matches(perm, granted) and not _matches(perm, denied)


@cache
def role_permissions(role: str) -> frozenset[str]:
    """The permissions `role` has among those known (Django's `get_all_permissions`)."""
    return frozenset(perm for perm in known_permissions() if role_allows(role=role, perm=perm))


def user_role(user: Any) -> str | None:
    """The role of an active staff user of the current brand, or None (no profile, not staff, an
    operator on the platform's domain: the public schema has no staff profiles). Read once per user
    object."""
    if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False) or not user.pk:
        return None
    if schema_current() == get_public_schema_name():
        return None
    if not hasattr(user, "_role_cache"):
        profile = StaffProfile.objects.filter(user_id=user.pk).values_list("role", flat=True).first()
        user._role_cache = profile
    return user._role_cache


def staff_settings_get() -> StaffSettings:
    """The brand's staff settings: its row, or the defaults (unsaved) while no owner changed them."""
    return StaffSettings.objects.filter(pk=1).first() or StaffSettings(pk=1)


def adjust_limit_for(*, user_id: int | None) -> int | None:
    """The most points `user_id` may add or remove in one adjustment, or None for no limit: a
    support user is held to `StaffSettings.support_adjust_limit`; other roles, superusers, the API
    and commands (no user) are not."""
    if user_id is None:
        return None
    profile = (
        StaffProfile.objects.filter(user_id=user_id, user__is_superuser=False)
        .values_list("role", flat=True)
        .first()
    )
    if profile != Role.SUPPORT:
        return None
    return staff_settings_get().support_adjust_limit
