"""The backoffice's club services (README "Community > Club services"): the services each club
space offers, and the support queue of members' requests (new first, oldest first), moved along
new → in progress → answered or declined → closed with an answer, through
`community.services.club_services` (the member is told when answered or declined). The member's
text is theirs: staff read it, never change it."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from community.models import ClubService, ServiceRequest
from community.services.club_services import service_request_check, service_request_handle
from core.admin_base import ModelAdmin
from core.errors import DomainError

# The queue's order: what waits for staff first.
QUEUE_ORDER = Case(
    When(state=ServiceRequest.State.NEW, then=Value(0)),
    When(state=ServiceRequest.State.IN_PROGRESS, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


@admin.register(ClubService)
class ClubServiceAdmin(ModelAdmin):
    list_display = ["name", "space", "is_active", "position", "open_requests"]
    list_filter = ["is_active", "space"]
    search_fields = ["name"]
    fields = ["name", "space", "description", "request_help", "is_active", "position"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClubService]:
        waiting = [ServiceRequest.State.NEW, ServiceRequest.State.IN_PROGRESS]
        return (
            super()
            .get_queryset(request)
            .select_related("space")
            .annotate(open_count=Count("requests", filter=Q(requests__state__in=waiting)))
        )

    @admin.display(description=gettext_lazy("open requests"), ordering="open_count")
    def open_requests(self, service: ClubService) -> int:
        return service.open_count  # type: ignore[attr-defined]

    def has_delete_permission(self, request: HttpRequest, obj: ClubService | None = None) -> bool:
        """A service members asked for is switched off, not deleted (their requests keep it)."""
        if obj is not None and obj.requests.exists():
            return False
        return super().has_delete_permission(request, obj)


class ServiceRequestForm(forms.ModelForm):
    """The state and the answer, checked by the service (its errors on their fields)."""

    class Meta:
        model = ServiceRequest
        fields = ["state", "answer"]

    def clean(self) -> dict:
        data = super().clean()
        if "state" in data:
            fresh = ServiceRequest.objects.get(pk=self.instance.pk)
            try:
                data["answer"] = service_request_check(
                    request=fresh, state=data["state"], answer=data.get("answer", "")
                )
            except DomainError as error:
                self.add_error(error.field if error.field in self.fields else None, error.message)
        return data


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ModelAdmin):
    form = ServiceRequestForm
    list_display = ["__str__", "service", "member", "state", "created_at", "answered_at", "handled_by"]
    list_filter = ["state", "service"]
    search_fields = ["member__external_id", "member__last_name", "member__email", "text"]
    readonly_fields = ["service", "member", "text", "created_at", "answered_at", "handled_by"]
    fieldsets = [
        (gettext_lazy("The member's request"), {"fields": ["service", "member", "created_at", "text"]}),
        (gettext_lazy("Handling"), {"fields": ["state", "answer", "answered_at", "handled_by"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceRequest]:
        return (
            super()
            .get_queryset(request)
            .select_related("service", "member", "handled_by")
            .order_by(QUEUE_ORDER, "created_at", "pk")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members ask, on the site

    def has_delete_permission(self, request: HttpRequest, obj: ServiceRequest | None = None) -> bool:
        return False  # closed, not deleted: the member's history

    def save_model(
        self, request: HttpRequest, obj: ServiceRequest, form: ServiceRequestForm, change: bool
    ) -> None:
        service_request_handle(
            request_id=obj.pk,
            state=form.cleaned_data["state"],
            answer=form.cleaned_data["answer"],
            user=request.user,
        )
