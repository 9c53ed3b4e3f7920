"""Backoffice: every message (read-only: filtered by channel, state, trigger and campaign, searched by
member; the `unknown` ones, which a crash left unsettled, highlighted for staff to check with the
provider), and the development outbox (`outbox/`): the messages no provider sent because the brand
has no credentials, as they would have left (recipient, subject, rendered text, the e-mail's HTML
in a sandboxed frame or as escaped text), timed in the brand's timezone."""

from __future__ import annotations

from csp.constants import NONE, SELF
from csp.decorators import csp
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from core.admin_base import ModelAdmin
from loyalty.selectors.members import VIEW_EVERY_MEMBER, members_visible
from messaging.models import Channel, Message
from messaging.providers.base import DevelopmentOutbox
from tenants.selectors import brand_timezone

OUTBOX_PAGE_SIZE = 25


def outbox_messages(*, channel: str = "") -> QuerySet[Message]:
    rows = Message.objects.filter(provider=DevelopmentOutbox.name).select_related("member")
    return rows.filter(channel=channel) if channel else rows


@admin.register(Message)
class MessageAdmin(ModelAdmin):
    change_list_template = "messaging/admin/message_change_list.html"
    list_display = ["created_at", "member", "channel", "template_code", "state_shown", "trigger", "campaign"]
    list_filter = ["channel", "state", "trigger", "campaign", "purpose"]
    search_fields = ["member__external_id", "member__email", "recipient"]
    list_select_related = ["member", "campaign"]
    date_hierarchy = "created_at"
    readonly_fields = ["state_shown"]
    fieldsets = [
        (None, {"fields": ["member", "channel", "purpose", "template", "template_code", "language"]}),
        (_("Content"), {"fields": ["recipient", "subject", "body"]}),
        (
            _("State"),
            {
                "fields": [
                    "state_shown",
                    "skip_reason",
                    "provider",
                    "provider_id",
                    "provider_status",
                    "error",
                    "attempts",
                    "not_before",
                ]
            },
        ),
        (_("Origin"), {"fields": ["trigger", "campaign", "campaign_run", "dedupe_key", "retry_of"]}),
        (_("Times"), {"fields": ["created_at", "sending_at", "sent_at", "delivered_at", "failed_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        """The portfolio rule (`members_visible`): without `loyalty.view_every_member`, the messages
        of the staff user's own members only."""
        queryset = super().get_queryset(request)
        if request.user.has_perm(VIEW_EVERY_MEMBER):
            return queryset
        return queryset.filter(member__in=members_visible(user=request.user))

    @admin.display(description=_("state"), ordering="state")
    def state_shown(self, message: Message) -> str:
        label = message.get_state_display()
        if message.skip_reason:
            label = f"{label} ({message.skip_reason})"
        if message.state == Message.State.UNKNOWN:
            return format_html('<span class="message-unknown">{}</span>', label)
        return label

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        unknown = Message.objects.filter(state=Message.State.UNKNOWN).count()
        return super().changelist_view(request, {**(extra_context or {}), "unknown_count": unknown})

    def get_urls(self) -> list:
        outbox = self.admin_site.admin_view(self.outbox_view)
        html = self.admin_site.admin_view(self.outbox_html_view)
        return [
            path("outbox/", outbox, name="messaging_message_outbox"),
            path("outbox/<int:message_id>/html/", html, name="messaging_message_outbox_html"),
            *super().get_urls(),
        ]

    def outbox_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        channel = request.GET.get("channel", "")
        channel = channel if channel in Channel.values else ""
        rows = outbox_messages(channel=channel) & self.get_queryset(request)  # a sales rep's own
        page = Paginator(rows, OUTBOX_PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Development outbox"),
            "opts": self.model._meta,
            "page": page,
            "channel": channel,
            "channels": Channel.choices,
            "timezone_name": str(brand_timezone()),
        }
        return TemplateResponse(request, "messaging/admin/outbox.html", context)

    def outbox_html_view(self, request: HttpRequest, message_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        rows = outbox_messages() & self.get_queryset(request)
        message = get_object_or_404(rows, pk=message_id, channel=Channel.EMAIL)
        return _outbox_html(request, message=message)


# An e-mail's HTML is the brand's staff's text: shown in a frame sandboxed twice (the iframe's
# `sandbox` attribute and this policy): no script, no form, no same origin, inline styles only.
@xframe_options_sameorigin
@csp(
    {
        "default-src": [NONE],
        "img-src": [SELF, "data:", "https:"],
        "style-src": ["'unsafe-inline'"],
        "frame-ancestors": [SELF],
        "sandbox": [""],
    }
)
def _outbox_html(request: HttpRequest, *, message: Message) -> HttpResponse:
    return HttpResponse(message.html, content_type="text/html; charset=utf-8")
