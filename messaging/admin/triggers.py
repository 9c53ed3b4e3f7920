"""Backoffice: the triggers staff switch on, each kind on a channel with a template, checked by
`messaging.triggers` as the API is (a template code that does not exist on the channel is refused
on its field)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin_base import ModelAdmin
from core.errors import InvalidInput
from messaging.models import Trigger
from messaging.triggers import TRIGGER_FIELDS, trigger_save, trigger_validate


class TriggerForm(forms.ModelForm):
    class Meta:
        model = Trigger
        fields = list(TRIGGER_FIELDS)
        labels = {"template_code": _("Template code"), "is_active": _("On")}

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            try:
                values = {name: data.get(name) for name in TRIGGER_FIELDS}
                trigger_validate(data=values, trigger=self.instance)
            except InvalidInput as error:
                for field, messages in error.errors.items():
                    self.add_error(field if field in self.fields else None, messages)
        return data

    def _post_clean(self) -> None:
        """The service checks the trigger (in `clean`); the model's own checks would say it again."""


@admin.register(Trigger)
class TriggerAdmin(ModelAdmin):
    form = TriggerForm
    list_display = ["kind", "channel", "template_code", "is_active", "days"]
    list_filter = ["is_active", "channel", "kind"]
    ordering = ["kind", "channel"]

    def save_model(self, request: HttpRequest, obj: Trigger, form: forms.Form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in TRIGGER_FIELDS}
        saved = trigger_save(data=data, trigger=Trigger.objects.get(pk=obj.pk) if change else None)
        obj.pk = saved.pk
