"""Backoffice of the outgoing webhooks: endpoints (their secret shown once, on the page that answers
their creation), deliveries with every attempt and the receiver's answers, and "send again". Every
write goes through `messaging.services.webhooks`, as the API's do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext

from core.admin_base import ModelAdmin, TabularInline
from core.errors import DomainError, InvalidInput
from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from messaging.services.webhooks import (
    webhook_delivery_send_again,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_endpoint_validate,
)
from messaging.webhooks.events import EVENT_TYPES

ENDPOINT_FIELDS = ["url", "description", "events", "is_active"]


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(code, f"{code}: {words}") for code, words in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Events"),
    )
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=500,
        help_text=gettext_lazy("https:// only"),
        widget=forms.TextInput(attrs={"class": "vURLField"}),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ENDPOINT_FIELDS

    def _post_clean(self) -> None:
        """The service's checks (the URL's addresses, the event types), errors on their fields."""
        if self.errors:
            return
        try:
            webhook_endpoint_validate(data={name: self.cleaned_data[name] for name in ENDPOINT_FIELDS})
        except InvalidInput as error:
            for field, texts in error.errors.items():
                self.add_error(field if field in self.fields else None, texts)


class WebhookAttemptInline(TabularInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "duration_ms", "error", "response_body"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "events_list", "is_active", "failing_since"]
    list_filter = ["is_active"]
    readonly_fields = ["failing_since", "disabled_at", "disabled_reason", "created_at"]

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        return ENDPOINT_FIELDS if obj is None else [*ENDPOINT_FIELDS, *self.readonly_fields]

    @admin.display(description=gettext_lazy("events"))
    def events_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: forms.Form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in ENDPOINT_FIELDS}
        if change:
            saved = webhook_endpoint_update(endpoint=obj, data=data)
        else:
            saved = webhook_endpoint_create(data=data)
        for field in WebhookEndpoint._meta.concrete_fields:  # the page after it shows what was saved
            setattr(obj, field.attname, getattr(saved, field.attname))

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_delete(endpoint=endpoint)

    def response_add(self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None):
        """The one page that shows the new endpoint's secret (never in a message, a cookie or a URL)."""
        context = {
            **self.admin_site.each_context(request),
            "title": gettext_lazy("Webhook endpoint created"),
            "endpoint": obj,
            "opts": self.model._meta,
            "change_url": reverse("admin:messaging_webhookendpoint_change", args=[obj.pk]),
            "deliveries_url": reverse("admin:messaging_webhookdelivery_changelist")
            + f"?endpoint__id__exact={obj.pk}",
        }
        # The admin's views are never cached (Cache-Control: no-store...): the secret stays on this page.
        return TemplateResponse(request, "messaging/webhooks/secret_once.html", context)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ModelAdmin):
    list_display = ["event_type", "endpoint", "state", "attempts", "last_response_status", "created_at"]
    list_filter = ["state", "event_type", "endpoint"]
    search_fields = ["event_id"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        "endpoint",
        "event_id",
        "event_type",
        "payload",
        "state",
        "attempts",
        "first_attempt_at",
        "last_attempt_at",
        "next_attempt_at",
        "succeeded_at",
        "last_response_status",
        "last_response_body",
        "last_error",
        "created_at",
    ]
    exclude = ["requeue_at"]
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only: the page shows the delivery; "send again" is the action

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of what was sent (deleting its endpoint deletes it)

    @admin.action(description=gettext_lazy("Send again (same event id)"), permissions=["view"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        sent, refused = 0, []
        for delivery_id in queryset.values_list("pk", flat=True):
            try:
                webhook_delivery_send_again(delivery_id=delivery_id)
                sent += 1
            except DomainError as error:
                refused.append(f"{delivery_id}: {error.message}")
        if sent:
            queued = ngettext("%(count)d delivery queued.", "%(count)d deliveries queued.", sent)
            messages.success(request, queued % {"count": sent})
        for text in refused:
            messages.error(request, text)
