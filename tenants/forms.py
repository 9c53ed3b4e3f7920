from __future__ import annotations

import zoneinfo

from django import forms

from core.errors import InvalidInput

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


class BrandCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.CharField(max_length=40, help_text="lowercase letters, digits and hyphens")
    admin_email = forms.EmailField(label="Brand admin e-mail")
    domain = forms.CharField(max_length=253, required=False, help_text="optional custom domain")
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, initial="Europe/Paris")
    currency = forms.CharField(max_length=3, initial="EUR")

    def add_service_error(self, error: InvalidInput) -> None:
        field = error.field if error.field in self.fields else None
        self.add_error(field, error.message)
