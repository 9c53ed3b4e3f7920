"""The backoffice's contributions (README "Community > Contributions"): the types the brand defines
(saved through `contribution_type_save`, which creates their event type) and the queue of
contributions, those to review first, with their photos; approving and rejecting (with a published
reason and a note) call `contribution_decide`."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy, ngettext

from community.models import Contribution, ContributionState, ContributionType, RejectionReason
from community.services.contributions import (
    CONTRIBUTION_TYPE_FIELDS,
    contribution_decide,
    contribution_type_save,
    contribution_type_validate,
)
from core.admin_base import ModelAdmin
from core.errors import DomainError
from loyalty.admin.programme import ServiceForm


class ContributionTypeForm(ServiceForm):
    service_validate = staticmethod(contribution_type_validate)

    class Meta:
        model = ContributionType
        fields = CONTRIBUTION_TYPE_FIELDS

    def _instance_kwarg(self) -> dict:
        return {"contribution_type": self.instance}


@admin.register(ContributionType)
class ContributionTypeAdmin(ModelAdmin):
    form = ContributionTypeForm
    list_display = [
        "name",
        "code",
        "event_type",
        "photos_required",
        "reference_label",
        "is_public",
        "is_active",
    ]
    list_filter = ["is_active", "is_public"]
    search_fields = ["name", "code"]
    fieldsets = [
        (None, {"fields": ["name", "code", "description", "is_active", "position"]}),
        (
            gettext_lazy("What the member gives"),
            {"fields": ["photos_required", "reference_label", "reference_required", "subject_kind"]},
        ),
        (gettext_lazy("Reward and display"), {"fields": ["event_type", "is_public"]}),
    ]

    def save_model(
        self, request: HttpRequest, obj: ContributionType, form: ContributionTypeForm, change: bool
    ) -> None:
        saved = contribution_type_save(data=form._form_data(), contribution_type=obj if change else None)
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: ContributionType | None = None) -> bool:
        """A type with contributions is closed, not deleted (they point at it)."""
        if obj is not None and obj.contributions.exists():
            return False
        return super().has_delete_permission(request, obj)


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason (the member is told)"), choices=RejectionReason.choices
    )
    note = forms.CharField(
        label=gettext_lazy("Note to the member"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=1000,
    )


@admin.register(Contribution)
class ContributionAdmin(ModelAdmin):
    """The queue: read-only rows, decided by the actions (approve, reject with a reason)."""

    list_display = ["id", "type", "member", "reference", "state", "photo_count", "created_at", "decided_at"]
    list_filter = ["state", "type"]
    search_fields = ["reference", "text", "member__external_id", "member__last_name"]
    list_select_related = ["type", "member"]
    actions = ["approve", "reject"]
    fields = [
        "type",
        "member",
        "state",
        "text",
        "reference",
        "subject",
        "photo_list",
        "created_at",
        "rejection_reason",
        "rejection_note",
        "decided_by",
        "decided_at",
        "event",
    ]
    readonly_fields = fields

    # Those to review first, the oldest first; then the decided ones.
    ordering = [
        Case(
            When(state=ContributionState.SUBMITTED, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        "created_at",
        "id",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contribution]:
        return super().get_queryset(request).prefetch_related("photos")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members send them on the site

    def has_delete_permission(self, request: HttpRequest, obj: Contribution | None = None) -> bool:
        return False  # a decision is history (an approved one earned points)

    @admin.display(description=gettext_lazy("photos"))
    def photo_count(self, contribution: Contribution) -> int:
        return len(contribution.photos.all())

    @admin.display(description=gettext_lazy("photos"))
    def photo_list(self, contribution: Contribution) -> str:
        return format_html_join(
            " ",
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" width="160"></a>',
            ((photo.image.url, photo.image.url) for photo in contribution.photos.all()),
        ) or format_html("{}", gettext("none"))

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[Contribution], *, approve: bool, **kwargs
    ) -> None:
        done, failed = 0, []
        for contribution in queryset.order_by("pk"):
            try:
                contribution_decide(
                    contribution_id=contribution.pk, approve=approve, user=request.user, **kwargs
                )
            except DomainError as error:
                failed.append(f"#{contribution.pk}: {error.message}")
            else:
                done += 1
        if done:
            text = (
                ngettext("%(count)s contribution approved.", "%(count)s contributions approved.", done)
                if approve
                else ngettext("%(count)s contribution rejected.", "%(count)s contributions rejected.", done)
            )
            messages.success(request, text % {"count": done})
        for failure in failed:
            messages.error(request, failure)

    @admin.action(
        description=gettext_lazy("Approve the selected contributions (they earn)"), permissions=["change"]
    )
    def approve(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(
        description=gettext_lazy("Reject the selected contributions (asks for the reason)"),
        permissions=["change"],
    )
    def reject(self, request: HttpRequest, queryset: QuerySet[Contribution]):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._decide(
                request,
                queryset,
                approve=False,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Reject contributions"),
            "rows": list(queryset.select_related("type", "member").order_by("pk")),
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/community/contribution/reject.html", context)
