"""The audit trail's list (`backoffice:audit`, the page `/backoffice/core/auditentry/`): every entry
(core.audit), filtered by who, model, action, channel and dates, searched, each row linking to its
object, and downloaded as CSV with the filters shown. Read only; it needs `core.view_auditentry`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.contrib.filters.forms import RangeDateForm

from core.admin_base import ModelAdmin
from core.audit import audit_entry_rows
from core.jobs import csv_cell
from core.models import AuditEntry
from core.replica import replica_reads

CSV_HEADER = [
    "at",
    "actor",
    "via",
    "ip",
    "action",
    "model",
    "object_id",
    "object",
    "before",
    "after",
    "reason",
]
# Values longer than this are cut in the list (the entry's page shows them whole).
SHOWN_CHARS = 80
# A value and, under it on a wide screen, a detail (unfold's phone layout gives a cell one line).
_TWO_LINES = (
    '<div>{}<div class="hidden lg:block text-font-subtle-light dark:text-font-subtle-dark">{}</div></div>'
)


class _DayRangeForm(RangeDateForm):
    """Unfold's from/to fields as the browser's own date inputs (no calendar script)."""

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, *args, **kwargs)
        for field in self.fields.values():
            field.widget = forms.DateInput(attrs={**field.widget.attrs, "type": "date"}, format="%Y-%m-%d")

    @property
    def media(self) -> forms.Media:
        return forms.Media()


class DayRangeFilter(RangeDateFilter):
    """From a day to a day, both included, in the brand's time zone."""

    form_class = _DayRangeForm

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        days = {"from": "__date__gte", "to": "__date__lte"}
        filters = {}
        for end, lookup in days.items():
            value = self.used_parameters.get(f"{self.parameter_name}_{end}")
            day = forms.DateField().to_python(value) if value else None
            if day is not None:
                filters[f"{self.parameter_name}{lookup}"] = day
        return queryset.filter(**filters)


class _DistinctValueFilter(admin.SimpleListFilter):
    field: str

    def _values(self) -> list:
        return list(AuditEntry.objects.order_by().values_list(self.field, flat=True).distinct())


class ActorFilter(_DistinctValueFilter):
    """Who: a staff user's name, or an API key's (kept when the user or key is gone)."""

    title = _("who")
    parameter_name = "actor"
    field = "actor_label"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(label, label or _("(nobody)")) for label in sorted(self._values())]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset if self.value() is None else queryset.filter(actor_label=self.value())


class ModelFilter(_DistinctValueFilter):
    """What: the kinds of objects the trail holds."""

    title = _("model")
    parameter_name = "model"
    field = "content_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        types = ContentType.objects.filter(pk__in=[pk for pk in self._values() if pk is not None])
        return sorted(((str(ct.pk), str(ct.name).capitalize()) for ct in types), key=lambda pair: pair[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        value = self.value()
        return queryset.filter(content_type_id=int(value)) if value and value.isdigit() else queryset


def object_url(entry: AuditEntry) -> str | None:
    """The backoffice page of the entry's object (none once it is deleted or has no page)."""
    if entry.content_type is None or not entry.object_id or entry.action == AuditEntry.Action.DELETE:
        return None
    try:
        return reverse(
            f"admin:{entry.content_type.app_label}_{entry.content_type.model}_change", args=[entry.object_id]
        )
    except NoReverseMatch:
        return None


def _csv_rows(queryset: QuerySet[AuditEntry]) -> Iterator[str]:
    class _Line:
        def write(self, text: str) -> str:
            return text

    writer = csv.writer(_Line())
    zone = timezone.get_current_timezone()
    yield writer.writerow(CSV_HEADER)
    # The whole trail may be long: read where the exports read (core.replica), while streaming.
    with replica_reads():
        for entry in queryset.select_related("content_type").iterator(chunk_size=2000):
            ct = entry.content_type
            cells = [
                entry.at,
                entry.actor_label,
                entry.via,
                entry.ip,
                entry.action,
                f"{ct.app_label}.{ct.model}" if ct else "",
                entry.object_id,
                entry.object_repr,
                json.dumps(entry.before, ensure_ascii=False, sort_keys=True),
                json.dumps(entry.after, ensure_ascii=False, sort_keys=True),
                entry.reason,
            ]
            yield writer.writerow([csv_cell(cell, zone) for cell in cells])


@admin.register(AuditEntry)
class AuditEntryAdmin(ModelAdmin):
    list_display = ["at", "who", "action", "object_link", "changes", "reason"]
    list_display_links = ["at"]
    list_filter = [ActorFilter, ModelFilter, "action", "via", ("at", DayRangeFilter)]
    list_filter_submit = True  # the dates are typed, then applied
    search_fields = ["object_repr", "object_id", "actor_label", "reason"]
    list_select_related = ["content_type"]
    list_per_page = 50
    show_full_result_count = False  # the trail only grows: no second COUNT(*) of it
    change_list_template = "core/admin/auditentry_change_list.html"
    change_form_template = "core/admin/auditentry_change_form.html"
    fields = [
        "at",
        "actor_label",
        "via",
        "ip",
        "action",
        "content_type",
        "object_id",
        "object_repr",
        "reason",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("who"), ordering="actor_label")
    def who(self, entry: AuditEntry) -> str:
        where = f"{entry.get_via_display()} · {entry.ip}" if entry.ip else entry.get_via_display()
        return format_html(_TWO_LINES, entry.actor_label or "—", where)

    @admin.display(description=_("object"))
    def object_link(self, entry: AuditEntry) -> str:
        kind = str(entry.content_type.name).capitalize() if entry.content_type else ""
        url = object_url(entry)
        name = entry.object_repr or entry.object_id or "—"
        link = format_html('<a href="{}" class="text-primary-600 dark:text-primary-500">{}</a>', url, name)
        return format_html(_TWO_LINES, link if url else name, kind)

    @admin.display(description=_("changes"))
    def changes(self, entry: AuditEntry) -> str:
        rows = [
            (name, Truncator(before or "∅").chars(SHOWN_CHARS), Truncator(after or "∅").chars(SHOWN_CHARS))
            for name, before, after in audit_entry_rows(entry=entry)
        ]
        if not rows:
            return "—"
        # Each field on its line on a wide screen; on a phone (one line per cell) their names.
        lines = format_html_join("", '<div><span class="font-medium">{}</span>: {} → {}</div>', rows)
        names = ", ".join(name for name, _before, _after in rows)
        return format_html(
            '<div class="hidden lg:block">{}</div><div class="lg:hidden truncate">{}</div>', lines, names
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        entry = self.get_object(request, object_id)
        context = {**(extra_context or {})}
        if entry is not None:
            context["audit_entries"] = [(entry, audit_entry_rows(entry=entry), object_url(entry))]
            context["audit_show_object"] = True
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self) -> list:
        export = self.admin_site.admin_view(self.export_view)
        return [path("export.csv", export, name="core_auditentry_export"), *super().get_urls()]

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The entries the list shows with the same filters and search, all of them, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).get_queryset(request)
        response = StreamingHttpResponse(_csv_rows(queryset), content_type="text/csv; charset=utf-8")
        name = f"audit-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def audit_list(request: HttpRequest) -> HttpResponse:
    """`backoffice:audit`: the list, with the filters given."""
    url = reverse("admin:core_auditentry_changelist")
    query = request.META.get("QUERY_STRING", "")
    return HttpResponseRedirect(f"{url}?{query}" if query else url)
