"""Backoffice: programme settings, tiers, badges (with the leaderboard) and segments (with a live count).

Forms are validated by the same service functions the REST API uses, and saved through them, so
the backoffice and the API accept and refuse exactly the same things.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.admin_base import ModelAdmin
from core.errors import Conflict, InvalidInput
from loyalty.admin.forms import BackofficeJSONField
from loyalty.models import Badge, ProgrammeSettings, Segment, Tier
from loyalty.selectors.badges import badge_holder_count
from loyalty.selectors.leaderboard import badge_holders, leaderboard
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.segments import segment_filters_errors, segment_filters_members
from loyalty.services.badges import badge_delete, badge_save, badge_validate
from loyalty.services.programme import (
    EDITABLE_FIELDS,
    programme_settings_update,
    programme_settings_validate,
)
from loyalty.services.segments import segment_save, segment_validate
from loyalty.services.tiers import TIER_FIELDS, tier_create, tier_delete, tier_update, tier_validate


class ServiceForm(forms.ModelForm):
    """A model form whose validation is a service's: its errors land on the fields they name."""

    service_validate: Callable

    def _form_data(self) -> dict:
        return {field: self.cleaned_data[field] for field in self._meta.fields if field in self.cleaned_data}

    def _post_clean(self) -> None:
        if self.errors:
            return  # a field that did not parse: the service would only add confusing errors
        try:
            self.instance = type(self).service_validate(data=self._form_data(), **self._instance_kwarg())
        except InvalidInput as error:
            for path, messages_ in error.errors.items():
                # A path inside a field (`filters.balance.min`) lands on that field, path first.
                field, _, inner = path.partition(".")
                if inner and field in self.fields:
                    messages_ = [f"{inner}: {text}" for text in messages_]
                self.add_error(field if field in self.fields else None, messages_)

    def _instance_kwarg(self) -> dict:
        return {}


# --- programme settings ---------------------------------------------------------------------------


class ProgrammeSettingsForm(ServiceForm):
    service_validate = staticmethod(programme_settings_validate)

    class Meta:
        model = ProgrammeSettings
        fields = EDITABLE_FIELDS


@admin.register(ProgrammeSettings)
class ProgrammeSettingsAdmin(ModelAdmin):
    """One page: the brand's settings row (there is no list, no adding, no deleting)."""

    form = ProgrammeSettingsForm
    readonly_fields = ["brand_timezone", "updated_at"]
    fieldsets = [
        (gettext_lazy("Programme"), {"fields": ["programme_name", "brand_timezone"]}),
        (gettext_lazy("Activation codes"), {"fields": ["activation_code_days"]}),
        (
            gettext_lazy("Point value"),
            {
                "fields": ["points_per_unit", "unit_value", "currency"],
                "description": "points_per_unit points are worth unit_value (100 points = 5.00 EUR).",
            },
        ),
        (
            gettext_lazy("Expiry and pending period"),
            {"fields": ["expiry_policy", "expiry_days", "pending_days"]},
        ),
        (gettext_lazy("Members"), {"fields": ["overdraft_limit", "auto_create_members", "signup_open"]}),
        (
            gettext_lazy("Tier qualification"),
            {
                "fields": [
                    "tier_metric",
                    "tier_metric_event_type",
                    "tier_window",
                    "tier_window_months",
                    "tier_downgrade",
                    "tier_grace_days",
                ]
            },
        ),
        (gettext_lazy("Member site languages"), {"fields": ["site_languages", "default_language"]}),
        (gettext_lazy("VIP by spend"), {"fields": ["vip_spend_amount", "vip_spend_months"]}),
        ("", {"fields": ["updated_at"]}),
    ]

    @admin.display(description=gettext_lazy("timezone"))
    def brand_timezone(self, obj: ProgrammeSettings) -> str:
        return f"{connection.tenant.timezone} (the brand's: every time rule and window uses it)"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        row = programme_settings()
        return HttpResponseRedirect(reverse("admin:loyalty_programmesettings_change", args=[row.pk]))

    def save_model(self, request: HttpRequest, obj: ProgrammeSettings, form, change: bool) -> None:
        programme_settings_update(data=form._form_data())


# --- tiers ----------------------------------------------------------------------------------------


class TierForm(ServiceForm):
    service_validate = staticmethod(tier_validate)

    class Meta:
        model = Tier
        fields = list(TIER_FIELDS)

    def _instance_kwarg(self) -> dict:
        return {"tier": self.instance if self.instance.pk else None}


@admin.register(Tier)
class TierAdmin(ModelAdmin):
    form = TierForm
    list_display = [
        "name", "code", "threshold", "threshold_inclusive", "earn_multiplier", "grants_vip", "member_count"
    ]  # fmt: skip
    ordering = ["threshold"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description=gettext_lazy("members"), ordering="member_count")
    def member_count(self, tier: Tier) -> int:
        return tier.member_count

    def save_model(self, request: HttpRequest, obj: Tier, form, change: bool) -> None:
        data = form._form_data()
        obj.pk = (tier_update(tier=obj, data=data) if change else tier_create(data=data)).pk

    def delete_model(self, request: HttpRequest, obj: Tier) -> None:
        try:
            tier_delete(tier=obj)
        except Conflict as error:
            self.message_user(request, f"{obj}: {error}", messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for tier in queryset:
            self.delete_model(request, tier)


# --- badges and the leaderboard -------------------------------------------------------------------


class BadgeForm(ServiceForm):
    service_validate = staticmethod(badge_validate)

    class Meta:
        model = Badge
        fields = ["code", "name", "description", "event_type", "conditions", "count_required"]
        help_texts = {
            "conditions": 'e.g. [{"field": "attributes.status", "op": "equals", "value": "approved"}]',
        }
        field_classes = {"conditions": BackofficeJSONField}

    def clean_conditions(self) -> list:
        return [] if self.cleaned_data["conditions"] is None else self.cleaned_data["conditions"]

    def _instance_kwarg(self) -> dict:
        return {"badge": self.instance if self.instance.pk else None}


@admin.register(Badge)
class BadgeAdmin(ModelAdmin):
    form = BadgeForm
    list_display = ["name", "code", "event_type", "count_required", "holder_count"]
    change_list_template = "loyalty/admin/programme/badge_change_list.html"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(holder_count=Count("holders"))

    @admin.display(description=gettext_lazy("holders"), ordering="holder_count")
    def holder_count(self, badge: Badge) -> int:
        return badge.holder_count

    def save_model(self, request: HttpRequest, obj: Badge, form, change: bool) -> None:
        obj.pk = badge_save(data=form._form_data(), badge=obj if change else None).pk

    def get_deleted_objects(self, objs, request: HttpRequest):
        """A badge members hold is shown as protected: the confirmation page refuses to delete it."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        held = [(badge, badge_holder_count(badge=badge)) for badge in objs]
        protected = [*protected, *(f"{badge}: {count} member(s) hold it" for badge, count in held if count)]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Badge) -> None:
        try:
            badge_delete(badge=obj)
        except Conflict as error:
            self.message_user(request, f"{obj}: {error}", messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for badge in queryset:
            self.delete_model(request, badge)

    def get_urls(self):
        view = self.admin_site.admin_view(self.leaderboard_view)
        return [path("leaderboard/", view, name="loyalty_badge_leaderboard"), *super().get_urls()]

    def leaderboard_view(self, request: HttpRequest):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Leaderboard",
            "leaders": leaderboard(limit=50),
            "badges": [
                (badge, badge_holders(badge=badge, limit=5)) for badge in Badge.objects.order_by("name")
            ],
        }
        return TemplateResponse(request, "loyalty/admin/programme/leaderboard.html", context)


# --- segments -------------------------------------------------------------------------------------


class SegmentForm(ServiceForm):
    service_validate = staticmethod(segment_validate)

    class Meta:
        model = Segment
        fields = ["name", "description", "filters"]
        help_texts = {
            "filters": 'e.g. {"tiers": ["gold"], "balance": {"min": 100}, "consents": {"email": true}}'
        }
        field_classes = {"filters": BackofficeJSONField}

    def clean_filters(self) -> dict:
        return {} if self.cleaned_data["filters"] is None else self.cleaned_data["filters"]

    def _instance_kwarg(self) -> dict:
        return {"segment": self.instance if self.instance.pk else None}


@admin.register(Segment)
class SegmentAdmin(ModelAdmin):
    form = SegmentForm
    list_display = ["name", "description", "member_count", "created_at"]
    readonly_fields = ["member_count"]
    change_form_template = "loyalty/admin/programme/segment_change_form.html"

    def save_model(self, request: HttpRequest, obj: Segment, form, change: bool) -> None:
        obj.pk = segment_save(data=form._form_data(), segment=obj if change else None).pk

    @admin.display(description=gettext_lazy("members now"))
    def member_count(self, segment: Segment) -> int | str:
        if not segment.pk or segment_filters_errors(segment.filters):
            return "-"
        return segment_filters_members(filters=segment.filters).count()

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.count_view))
        return [path("count/", view, name="loyalty_segment_count"), *super().get_urls()]

    def count_view(self, request: HttpRequest) -> JsonResponse:
        """The live count of the form being edited: how many members these filters match now."""
        if not self.has_view_permission(request):
            return JsonResponse({"errors": {"filters": ["not allowed"]}}, status=403)
        try:
            filters = BackofficeJSONField(required=False).clean(request.POST.get("filters") or "{}")
        except forms.ValidationError as error:
            return JsonResponse({"errors": {"filters": error.messages}}, status=400)
        errors = segment_filters_errors(filters)
        if errors:
            return JsonResponse({"errors": errors}, status=400)
        return JsonResponse({"count": segment_filters_members(filters=filters).count()})
