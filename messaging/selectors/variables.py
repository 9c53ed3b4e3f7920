"""The values of a template's variables for one member (`messaging.rendering.VARIABLES`): plain
strings, formatted in the member's language and the brand's timezone, computed only when used."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.utils import translation

from core.formats import date_format, money_format, number_format
from loyalty.models import Member
from loyalty.selectors.members import member_points_summary
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.site import points_value
from messaging.rendering import VARIABLE_NAMES
from tenants.selectors import brand_primary_url


def site_url() -> str:
    """The brand's site (its primary domain) as members and providers reach it, ending with a
    slash; empty outside a brand. Where the platform redirects plain HTTP (production), over HTTPS
    without a port: a mail client's one-click unsubscribe and Twilio's signed callbacks follow no
    redirect. Otherwise http:// with the development port."""
    brand = getattr(connection, "tenant", None)
    if brand is None or not hasattr(brand, "domains"):
        return ""
    # Read once per Brand object (a request's, a task's): a campaign's e-mails each name the site
    # two or three times (links, unsubscribe, the provider's callback).
    key = (settings.SECURE_SSL_REDIRECT, settings.WEB_PORT)
    known = getattr(brand, "_public_site_url", None)
    if known is not None and known[0] == key:
        return known[1]
    base = brand_primary_url(brand=brand, port=settings.WEB_PORT)
    if base and settings.SECURE_SSL_REDIRECT:
        base = f"https://{urlsplit(base).hostname}/"
    brand._public_site_url = (key, base)
    return base


def _member_name(member: Member) -> str:
    full = f"{member.first_name} {member.last_name}".strip()
    return full or member.company_name


def message_variables(
    *, member: Member, names: Iterable[str], extra: Mapping[str, object] | None = None
) -> dict[str, object]:
    """Every variable of `names` for `member`: `extra` (what the trigger knows: points earned, the
    order, the code) first, then what the member's row and points say; an empty string for a
    variable the message has no value for."""
    wanted = set(names) & VARIABLE_NAMES
    values: dict[str, object] = {name: value for name, value in (extra or {}).items() if name in wanted}
    missing = wanted - values.keys()
    if not missing:
        return values
    with translation.override(member.language):
        summary = None
        if missing & {"points_expiring", "expiry_date"}:
            summary = member_points_summary(member=member)
        programme = programme_settings() if missing & {"programme_name", "balance_value"} else None
        base = site_url() if missing & {"site_url", "activation_url"} else ""
        computed: dict[str, Callable[[], object]] = {
            "first_name": lambda: member.first_name,
            "last_name": lambda: member.last_name,
            "name": lambda: _member_name(member),
            "company": lambda: member.company_name,
            "programme_name": lambda: programme.programme_name if programme else "",
            "site_url": lambda: base,
            "activation_url": lambda: f"{base}activate/" if base else "",
            "balance": lambda: number_format(member.balance),
            "balance_value": lambda: (
                money_format(points_value(points=member.balance, programme=programme), programme.currency)
                if programme
                else ""
            ),
            "tier": lambda: member.tier.name if member.tier else "",
            "points_expiring": lambda: (
                number_format(summary.next_expiry.points) if summary and summary.next_expiry else ""
            ),
            "expiry_date": lambda: (
                date_format(summary.next_expiry.date) if summary and summary.next_expiry else ""
            ),
        }
        for name in missing:
            values[name] = computed[name]() if name in computed else ""
    return values
