"""The backoffice's live help (README "Community > Live help"): the helpers (staff make a member one,
saved through `helper_save`; whether they are online now), and the conversations kept, read-only
with their messages (held messages are decided in the moderation queue, `community-bo:moderation`)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from community.live import helpers_online
from community.models import Conversation, ConversationMessage, Helper
from community.services.live import helper_save
from core.admin_base import ModelAdmin, TabularInline


@admin.register(Helper)
class HelperAdmin(ModelAdmin):
    fields = ["member", "display_name", "bio", "is_active"]
    list_display = ["display_name", "member", "is_active", "online", "answered", "helpful_count"]
    list_filter = ["is_active"]
    search_fields = ["display_name", "member__email", "member__last_name", "member__external_id"]
    raw_id_fields = ["member"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Helper]:
        return (
            super()
            .get_queryset(request)
            .select_related("member")
            .annotate(
                answered_count=Count("conversations"),
                helpful_total=Count("conversations", filter=Q(conversations__helpful=True)),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Helper | None = None) -> list[str]:
        return ["member"] if obj is not None else []

    @admin.display(description=gettext_lazy("online now"), boolean=True)
    def online(self, helper: Helper) -> bool:
        return helper.pk in helpers_online()

    @admin.display(description=gettext_lazy("conversations"), ordering="answered_count")
    def answered(self, helper: Helper) -> int:
        return helper.answered_count  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("helpful"), ordering="helpful_total")
    def helpful_count(self, helper: Helper) -> int:
        return helper.helpful_total  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Helper, form, change: bool) -> None:
        """Through `helper_save` (which also takes a helper made inactive offline at once)."""
        saved = helper_save(
            member=obj.member, display_name=obj.display_name, bio=obj.bio, is_active=obj.is_active
        )
        obj.pk = saved.pk


class MessageInline(TabularInline):
    model = ConversationMessage
    fields = ["created_at", "author", "text", "state", "language"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = gettext_lazy("messages")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ModelAdmin):
    """Kept as they were: read-only (no one rewrites a conversation)."""

    inlines = [MessageInline]
    list_display = [
        "__str__",
        "started_at",
        "state",
        "helper",
        "visitor_name",
        "rating",
        "helpful",
        "messages_count",
    ]
    list_filter = ["state", "helpful", "rating"]
    search_fields = ["visitor_name", "helper__display_name", "member__email"]
    date_hierarchy = "started_at"
    fields = [
        "started_at",
        "closed_at",
        "state",
        "helper",
        "visitor_name",
        "member",
        "rating",
        "helpful",
        "event",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return (
            super()
            .get_queryset(request)
            .select_related("helper", "member", "event")
            .annotate(message_total=Count("messages"))
        )

    @admin.display(description=gettext_lazy("messages"), ordering="message_total")
    def messages_count(self, conversation: Conversation) -> int:
        return conversation.message_total  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Conversation | None = None) -> bool:
        return False
