"""The backoffice's discussions: the threads with their replies (support reads them, pins and
locks; the members' texts are theirs, not staff's to rewrite: held texts are decided in the
moderation queue, or here with the same `moderation_decide`)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from community.models import ModerationState, Reply, Thread
from community.services.discussions import thread_staff_set
from community.services.moderation import moderation_decide
from core.admin_base import ModelAdmin, TabularInline

MEMBER_TEXT_FIELDS = ["member", "kind", "space", "title", "text", "language", "held_because", "created_at"]


class ReplyInline(TabularInline):
    model = Reply
    fields = ["member", "text", "state", "rejection_reason", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["created_at", "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Reply]:
        return super().get_queryset(request).select_related("member")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Thread)
class ThreadAdmin(ModelAdmin):
    inlines = [ReplyInline]
    list_display = ["title", "kind", "space", "member", "state", "is_pinned", "is_locked", "last_activity_at"]
    list_filter = ["state", "kind", "space", "is_pinned", "is_locked"]
    search_fields = ["title", "text", "member__external_id"]
    list_select_related = ["space", "member"]
    readonly_fields = [*MEMBER_TEXT_FIELDS, "state", "rejection_reason", "rejection_note", "published_at"]
    fields = [
        *MEMBER_TEXT_FIELDS,
        "state",
        "rejection_reason",
        "rejection_note",
        "published_at",
        "is_pinned",
        "is_locked",
    ]
    actions = ["pin", "unpin", "lock", "unlock", "publish"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members write threads, on the site

    def save_model(self, request: HttpRequest, obj: Thread, form: object, change: bool) -> None:
        thread_staff_set(thread_id=obj.pk, pinned=obj.is_pinned, locked=obj.is_locked)

    def _staff_set(self, request: HttpRequest, queryset: QuerySet[Thread], **change: bool) -> None:
        for thread_id in queryset.values_list("pk", flat=True):
            thread_staff_set(thread_id=thread_id, **change)
        count = queryset.count()
        messages.success(
            request,
            ngettext("%(count)s discussion changed.", "%(count)s discussions changed.", count)
            % {"count": count},
        )

    @admin.action(description=gettext_lazy("Pin"), permissions=["change"])
    def pin(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        self._staff_set(request, queryset, pinned=True)

    @admin.action(description=gettext_lazy("Unpin"), permissions=["change"])
    def unpin(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        self._staff_set(request, queryset, pinned=False)

    @admin.action(description=gettext_lazy("Close to replies"), permissions=["change"])
    def lock(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        self._staff_set(request, queryset, locked=True)

    @admin.action(description=gettext_lazy("Open to replies"), permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        self._staff_set(request, queryset, locked=False)

    @admin.action(description=gettext_lazy("Publish the held ones"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        held = list(queryset.filter(state=ModerationState.HELD))
        for thread in held:
            moderation_decide(obj=thread, publish=True, user=request.user)
        messages.success(
            request,
            ngettext("%(count)s discussion published.", "%(count)s discussions published.", len(held))
            % {"count": len(held)},
        )
