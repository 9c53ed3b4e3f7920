"""`{% load formats %}`: `{% points n %}`, `{% money amount currency %}`, `{% number n %}`,
`{% localdate value %}` and `{% localdatetime value %}` in the active language and the brand's
timezone (core.formats)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django import template

from core import formats

register = template.Library()


@register.simple_tag
def points(value: int) -> str:
    return formats.points_format(value)


@register.simple_tag
def money(amount: Decimal, currency: str) -> str:
    return formats.money_format(amount, currency)


@register.simple_tag
def number(value: int | Decimal) -> str:
    return formats.number_format(value)


@register.simple_tag
def localdate(value: date | datetime, style: str = "long") -> str:
    return formats.date_format(value, style=style)


@register.simple_tag
def localdatetime(value: datetime) -> str:
    return formats.datetime_format(value)
