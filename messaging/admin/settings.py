"""Backoffice: the brand's channel settings, one page (no list, no adding, no deleting) like the
theme's, checked and saved by `messaging.services.channel_settings`. Secrets (the Twilio auth
token, the e-mail provider's credentials, the tracking webhooks' secret) are never shown back: each
is a "set or replace" field that keeps the stored value when left empty, with a box to remove it."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.admin_base import ModelAdmin
from core.errors import InvalidInput
from messaging.models import ChannelSettings
from messaging.selectors.templates import channel_settings_get
from messaging.services.channel_settings import (
    SECRET_FIELDS,
    SETTINGS_FIELDS,
    channel_settings_update,
    channel_settings_validate,
)

CLEAR_LABELS = {
    "email_credentials": _("Remove the stored credentials"),
    "email_webhook_secret": _("Remove the stored secret"),
    "twilio_auth_token": _("Remove the stored token"),
}
SECRET_LABELS = {
    "email_credentials": _("Provider credentials (JSON)"),
    "email_webhook_secret": _("Tracking webhooks' secret"),
    "twilio_auth_token": _("Twilio auth token"),
}

KEEP_HELP = _("Leave empty to keep the stored value; type a new one to replace it.")


def clear_field_name(name: str) -> str:
    return f"{name}_clear"


class ChannelSettingsForm(forms.ModelForm):
    class Meta:
        model = ChannelSettings
        fields = [name for name in SETTINGS_FIELDS if name not in SECRET_FIELDS]
        labels = {
            "email_from_name": _("Sender name"),
            "email_from_address": _("Sender address"),
            "email_provider": _("E-mail provider"),
            "sms_sender": _("SMS sender"),
            "voice_caller": _("Calling number"),
            "twilio_account_sid": _("Twilio account SID"),
            "sends_per_second": _("Sends per second"),
            "marketing_calls_per_30_days": _("Marketing calls per member in 30 days"),
        }
        help_texts = {
            "sms_sender": _(
                "An alphanumeric sender id (letters, digits, spaces; at most 11, one letter at least) or "
                "a number in E.164 (+33612345678)."
            ),
            "voice_caller": _("A number in E.164 (+33123456789)."),
            "twilio_account_sid": _(
                "AC followed by 32 hexadecimal digits. Empty: SMS and calls go to the outbox."
            ),
            "email_provider": _(
                "Development outbox: nothing leaves, staff read the messages in the backoffice."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            stored = getattr(self.instance, name)
            if name == "email_credentials":
                widget: forms.Widget = forms.Textarea(
                    attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}
                )
                state = (
                    _("Set (keys: %(keys)s).") % {"keys": ", ".join(sorted(stored))}
                    if stored
                    else _("Not set.")
                )
                example = ' {"api_key": "...", "sender_domain": "mg.example.com"}'
            else:
                widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
                state, example = (_("Set.") if stored else _("Not set.")), ""
            self.fields[name] = forms.CharField(
                label=SECRET_LABELS[name],
                required=False,
                strip=True,
                widget=widget,
                help_text=f"{state} {KEEP_HELP}{example}",
            )
            self.fields[clear_field_name(name)] = forms.BooleanField(required=False, label=CLEAR_LABELS[name])

    def clean_email_credentials(self) -> dict | None:
        text = self.cleaned_data.get("email_credentials") or ""
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(_("Not JSON: %(error)s") % {"error": error}) from None

    def settings_input(self) -> dict[str, Any]:
        """What the service takes: a secret left empty is None (kept), a removed one empty."""
        data = {
            name: self.cleaned_data[name] for name in self._meta.fields or [] if name in self.cleaned_data
        }
        for name in SECRET_FIELDS:
            value = self.cleaned_data.get(name) or None
            if self.cleaned_data.get(clear_field_name(name)):
                value = {} if name == "email_credentials" else ""
            data[name] = value
        return data

    def _post_clean(self) -> None:
        if self.errors:
            return
        try:
            self.instance = channel_settings_validate(data=self.settings_input())
        except InvalidInput as error:
            for name, texts in error.errors.items():
                self.add_error(name if name in self.fields else None, texts)


@admin.register(ChannelSettings)
class ChannelSettingsAdmin(ModelAdmin):
    form = ChannelSettingsForm

    def get_fieldsets(self, request: HttpRequest, obj: ChannelSettings | None = None) -> list:
        return [
            (
                _("E-mail"),
                {
                    "fields": [
                        "email_from_name",
                        "email_from_address",
                        "email_provider",
                        "email_credentials",
                        clear_field_name("email_credentials"),
                        "email_webhook_secret",
                        clear_field_name("email_webhook_secret"),
                    ]
                },
            ),
            (
                _("SMS and voice calls (Twilio)"),
                {
                    "fields": [
                        "sms_sender",
                        "voice_caller",
                        "twilio_account_sid",
                        "twilio_auth_token",
                        clear_field_name("twilio_auth_token"),
                    ]
                },
            ),
            (_("Limits"), {"fields": ["sends_per_second", "marketing_calls_per_30_days"]}),
        ]

    def get_form(
        self, request: HttpRequest, obj: ChannelSettings | None = None, change: bool = False, **kwargs: Any
    ):
        # The secrets are fields the form adds itself, never the model's values.
        return super().get_form(request, obj, change, **{**kwargs, "fields": ChannelSettingsForm.Meta.fields})

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> ChannelSettings | None:
        return channel_settings_get() if object_id == "1" else None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ChannelSettings | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:messaging_channelsettings_change", args=[1]))

    def save_model(
        self, request: HttpRequest, obj: ChannelSettings, form: ChannelSettingsForm, change: bool
    ) -> None:
        channel_settings_update(data=form.settings_input())
