"""The backoffice's base classes: every brand's and the operator's admin pages subclass these, so the
look (django-unfold, README "Backoffice") and what every page shares are set in one place."""

from __future__ import annotations

from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import StackedInline as UnfoldStackedInline
from unfold.admin import TabularInline as UnfoldTabularInline


class ModelAdmin(UnfoldModelAdmin):
    """A backoffice list and its forms."""


class TabularInline(UnfoldTabularInline):
    """Rows of a related model, as a table inside a form."""


class StackedInline(UnfoldStackedInline):
    """Rows of a related model, each as a form inside a form."""
