"""`{% load gatherings %}`: `{% gathering_when gathering %}`, when an event takes place in the active
language and the brand's timezone: "8 déc. 2026, 18:27 - 20:27" (an en dash) on one day, both dates when it
ends on another day."""

from __future__ import annotations

from babel import dates
from django import template
from django.utils import translation

from core.formats import datetime_format
from gatherings.models import Gathering
from tenants.selectors import brand_timezone

register = template.Library()
DASH = "\N{EN DASH}"


@register.simple_tag
def gathering_when(gathering: Gathering) -> str:
    zone = brand_timezone()
    starts, ends = gathering.starts_at.astimezone(zone), gathering.ends_at.astimezone(zone)
    if starts.date() != ends.date():
        return f"{datetime_format(starts)} {DASH} {datetime_format(ends)}"
    locale = translation.to_locale(translation.get_language() or "en")
    return f"{datetime_format(starts)} {DASH} {dates.format_time(ends, format='short', locale=locale)}"
