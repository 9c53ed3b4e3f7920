from __future__ import annotations

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


class BrandCreateForm(forms.Form):
    name = forms.CharField(max_length=120, label=_("Name"))
    slug = forms.CharField(
        max_length=40, label=_("Slug"), help_text=_("lowercase letters, digits and hyphens")
    )
    admin_email = forms.EmailField(label=_("Brand admin e-mail"))
    domain = forms.CharField(
        max_length=253, required=False, label=_("Domain"), help_text=_("optional custom domain")
    )
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, initial="Europe/Paris", label=_("Timezone"))
    currency = forms.CharField(max_length=3, initial="EUR", label=_("Currency"))

    def add_service_error(self, error: InvalidInput) -> None:
        field = error.field if error.field in self.fields else None
        self.add_error(field, error.message)


class PlatformPlanForm(forms.Form):
    """A plan's fields as typed in the console; `tenants.plans` checks their values."""

    code = forms.CharField(
        max_length=40, label=_("Code"), help_text=_("lowercase letters, digits and hyphens")
    )
    name = forms.CharField(max_length=80, label=_("Name"))
    members_limit = forms.IntegerField(required=False, label=_("Members"), help_text=_("empty: no limit"))
    messages_per_month = forms.IntegerField(
        required=False, label=_("Messages per month"), help_text=_("empty: no limit")
    )
    application_fee_percent = forms.DecimalField(
        initial=0,
        label=_("Application fee (%)"),
        help_text=_("the platform's share of each VIP payment, between 0 and 100"),
    )

    def add_service_errors(self, error: InvalidInput) -> None:
        for field, texts in error.errors.items():
            for text in texts:
                self.add_error(field if field in self.fields else None, text)
