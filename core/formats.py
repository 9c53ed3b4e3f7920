"""Dates, numbers, points and money for people, in the active language (README.md, Languages) and
the brand's timezone, through Babel's CLDR data: "1 250 points", "12,50 €", "31 mars 2027" in
French; "1,250 points", "€12.50", "March 31, 2027" in English. Templates use core.templatetags.formats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel import dates, numbers
from django.utils import translation
from django.utils.translation import ngettext

from tenants.selectors import brand_timezone


def _locale() -> str:
    return translation.to_locale(translation.get_language() or "en")


def number_format(value: int | Decimal) -> str:
    """A number with the language's separators: 1 250,5 (fr), 1,250.5 (en)."""
    return numbers.format_decimal(value, locale=_locale())


def points_format(points: int) -> str:
    """A number of points: "1 250 points" (fr), "1,250 points", "1 point" (en)."""
    return ngettext("%(points)s point", "%(points)s points", abs(points)) % {"points": number_format(points)}


def money_format(amount: Decimal, currency: str) -> str:
    """An amount in its currency (ISO 4217): "12,50 €" (fr), "€12.50" (en); a number without one."""
    if not currency:
        return numbers.format_decimal(amount, locale=_locale())
    return numbers.format_currency(amount, currency, locale=_locale())


def date_format(value: date | datetime, *, style: str = "long") -> str:
    """A day: "31 mars 2027" (fr), "March 31, 2027" (en); a datetime's day in the brand's timezone."""
    if isinstance(value, datetime):
        value = value.astimezone(brand_timezone()).date()
    return dates.format_date(value, format=style, locale=_locale())


def datetime_format(value: datetime) -> str:
    """A moment in the brand's timezone, to the minute: "31 mars 2027, 14:05" (fr), "Mar 31, 2027,
    2:05 PM" (en)."""
    locale = _locale()
    moment = value.astimezone(brand_timezone())
    pattern = dates.get_datetime_format("medium", locale=locale)
    return (
        str(pattern)
        .replace("'", "")
        .format(
            dates.format_time(moment, format="short", locale=locale),
            dates.format_date(moment, format="medium", locale=locale),
        )
    )
