"""The backoffice's challenges: define them (saved through `community.services.challenges`, so
their conditions are checked as the badges' are, and a change of what counts is swept again),
and who completed them, read only (the bonus is the ledger's)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from community.models import Challenge, ChallengeCompletion
from community.services.challenges import CHALLENGE_FIELDS, challenge_save, challenge_validate
from core.admin_base import ModelAdmin, TabularInline
from loyalty.admin.programme import ServiceForm


class ChallengeForm(ServiceForm):
    service_validate = staticmethod(challenge_validate)

    class Meta:
        model = Challenge
        fields = CHALLENGE_FIELDS

    def _instance_kwarg(self) -> dict:
        return {"challenge": self.instance}


class CompletionInline(TabularInline):
    model = ChallengeCompletion
    fields = ["member", "completed_at", "entry"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = gettext_lazy("completed by")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChallengeCompletion]:
        return super().get_queryset(request).select_related("member", "entry")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Challenge)
class ChallengeAdmin(ModelAdmin):
    form = ChallengeForm
    inlines = [CompletionInline]
    list_display = [
        "name",
        "event_type",
        "count_required",
        "starts_at",
        "ends_at",
        "bonus_points",
        "completed",
        "is_active",
    ]
    list_filter = ["is_active", "event_type"]
    search_fields = ["name"]
    date_hierarchy = "starts_at"
    fieldsets = [
        (None, {"fields": ["name", "description", "is_active"]}),
        (
            gettext_lazy("What counts"),
            {
                "fields": ["event_type", "conditions", "count_required", "starts_at", "ends_at"],
                "description": gettext_lazy(
                    "Conditions on the event's attributes, as a badge's, or on its time: "
                    '[{"field": "attributes.zone_to", "op": "equals", "value": 1}, '
                    '{"field": "local_time", "op": "between", "value": ["18:00", "22:00"]}]'
                ),
            },
        ),
        (gettext_lazy("Bonus and who takes part"), {"fields": ["bonus_points", "segment"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Challenge]:
        return super().get_queryset(request).annotate(completed_count=Count("completions"))

    @admin.display(description=gettext_lazy("completed"), ordering="completed_count")
    def completed(self, challenge: Challenge) -> int:
        return challenge.completed_count  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Challenge, form: ChallengeForm, change: bool) -> None:
        saved = challenge_save(data=form._form_data(), challenge=obj if change else None)
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Challenge | None = None) -> bool:
        """A challenge someone completed stays (its completions are the members' history)."""
        if obj is not None and obj.completions.exists():
            return False
        return super().has_delete_permission(request, obj)
