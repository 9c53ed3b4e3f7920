"""The backoffice's moderation lists and forms (README "Community > Moderation"): the brand's own
moderation words (`ModerationTerm`: added to the lists that ship, or `allowed` to take a word out)
and the community settings (one row: the stated moderation delay, the rules shown on the site).
The queue of held texts is a page of its own (`community.backoffice.moderation`)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from community.models import CommunitySettings, ModerationTerm
from community.moderation import words
from core.admin_base import ModelAdmin

DELAY_DAYS_MAX = 60


class ModerationTermForm(forms.ModelForm):
    language = forms.ChoiceField(
        label=gettext_lazy("language"),
        required=False,
        choices=[("", gettext_lazy("Every language")), *settings.LANGUAGES],
    )

    class Meta:
        model = ModerationTerm
        fields = ["term", "category", "language"]

    def clean_term(self) -> str:
        term = " ".join(self.cleaned_data["term"].split())
        if not words(term):
            raise forms.ValidationError(gettext("Write a word or an expression with letters."))
        return term


@admin.register(ModerationTerm)
class ModerationTermAdmin(ModelAdmin):
    form = ModerationTermForm
    list_display = ["term", "category", "language_shown", "created_at"]
    list_filter = ["category", "language"]
    search_fields = ["term"]
    ordering = ["category", "term"]

    @admin.display(description=gettext_lazy("language"), ordering="language")
    def language_shown(self, obj: ModerationTerm) -> str:
        return obj.language or gettext("Every language")


class CommunitySettingsForm(forms.ModelForm):
    class Meta:
        model = CommunitySettings
        fields = [
            "moderation_delay_days",
            "moderation_rules",
            "review_invitation_days",
            "purchase_event_types",
            "best_answer_event_type",
            "live_help_enabled",
            "live_helpful_event_type",
        ]

    def clean_moderation_delay_days(self) -> int:
        days = self.cleaned_data["moderation_delay_days"]
        if not 1 <= days <= DELAY_DAYS_MAX:
            raise forms.ValidationError(gettext("Between 1 and %(max)d days.") % {"max": DELAY_DAYS_MAX})
        return days

    def clean_purchase_event_types(self) -> list:
        value = self.cleaned_data["purchase_event_types"] or []
        if not isinstance(value, list) or not all(isinstance(code, str) and code for code in value):
            raise forms.ValidationError(gettext('A list of event type codes, such as ["purchase"].'))
        return value


@admin.register(CommunitySettings)
class CommunitySettingsAdmin(ModelAdmin):
    form = CommunitySettingsForm
    list_display = ["__str__", "moderation_delay_days", "live_help_enabled", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CommunitySettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CommunitySettings, form, change: bool) -> None:
        obj.pk = 1  # the single row (its check constraint)
        super().save_model(request, obj, form, change)
