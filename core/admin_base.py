"""The backoffice's base classes: every brand's and the operator's admin pages subclass these, so the
look (django-unfold, README "Backoffice") and what every page shares are set in one place.

What every page shares: the audit trail (`core.audit`). Every save and delete made through a
backoffice form, its inlines and its list's editable columns included, is recorded with the values
before and after of the fields that changed, whatever the page's own `save_model` does (most call a
service): the object and its inline rows are read from the database before and after. A service
that records its own entry for the object in the same request (with its own before and after) is
not recorded twice. The object's history page shows its entries and its inline rows'."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db import models
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import StackedInline as UnfoldStackedInline
from unfold.admin import TabularInline as UnfoldTabularInline

from core.audit import (
    audit_available,
    audit_changes,
    audit_entries_for,
    audit_entry_rows,
    audit_record,
    audit_recorded,
    audit_snapshot,
)
from core.models import AuditEntry

# Where a form's "before" waits on the request between the form's validation and the log.
_BEFORE = "_audit_before"
_DELETING = "_audit_deleting"
# The most objects an admin action's generic entries are read for.
ACTION_AUDIT_MAX = 1000


def _fresh(obj: Model) -> Model | None:
    return type(obj)._base_manager.filter(pk=obj.pk).first() if obj.pk is not None else None


# A link typed without its scheme is an https:// one (Django 6's default, asked now: no warning).
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


def _with_urls(overrides: dict) -> dict:
    return {**overrides, models.URLField: {**overrides.get(models.URLField, {}), "assume_scheme": "https"}}


class ModelAdmin(UnfoldModelAdmin):
    """A backoffice list and its forms."""

    # unfold merges these into its own widgets (BaseModelAdminMixin).
    formfield_overrides = URL_FIELDS

    object_history_template = "core/admin/object_history.html"

    # --- the audit trail ---------------------------------------------------------------------------

    def _audit_children(self, request: HttpRequest, obj: Model) -> list[tuple[type[Model], str]]:
        """The models of the page's inlines with the field pointing at the object."""
        children = []
        for inline in self.get_inline_instances(request, obj):
            fk = getattr(inline.get_formset(request, obj), "fk", None)
            if fk is not None:
                children.append((inline.model, fk.name))
        return children

    def _audit_state(self, request: HttpRequest, obj: Model) -> dict[str, Any]:
        """The object's values and its inline rows' (instance and values by model and id)."""
        fresh = _fresh(obj)
        rows: dict[tuple[type[Model], Any], tuple[Model, dict]] = {}
        if fresh is not None:
            for model, fk_name in self._audit_children(request, fresh):
                for child in model._base_manager.filter(**{fk_name: fresh.pk}):
                    rows[(model, child.pk)] = (child, audit_snapshot(child))
        return {"object": audit_snapshot(fresh) if fresh is not None else None, "rows": rows}

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        """Reads the object before the change (the form has already changed the instance)."""
        obj = super().save_form(request, form, change)
        if audit_available():
            before = getattr(request, _BEFORE, {})
            before[id(obj)] = self._audit_state(request, obj) if change else {"object": None, "rows": {}}
            setattr(request, _BEFORE, before)
        return obj

    def _audit_saved(self, request: HttpRequest, obj: Model) -> None:
        before = getattr(request, _BEFORE, {}).pop(id(obj), None)
        if before is None or not audit_available():
            return
        after = self._audit_state(request, obj)
        if after["object"] is not None and not audit_recorded(obj=obj):
            if before["object"] is None:
                audit_record(action=AuditEntry.Action.CREATE, obj=obj, after=after["object"])
            else:
                old, new = audit_changes(before["object"], after["object"])
                if old or new:
                    audit_record(action=AuditEntry.Action.CHANGE, obj=obj, before=old, after=new)
        for key in before["rows"].keys() | after["rows"].keys():
            child, old = before["rows"].get(key, (None, None))
            child, new = after["rows"].get(key, (child, None))
            if audit_recorded(obj=child):
                continue
            if old is None:
                audit_record(action=AuditEntry.Action.CREATE, obj=child, after=new)
            elif new is None:
                audit_record(action=AuditEntry.Action.DELETE, obj=child, before=old)
            else:
                old, new = audit_changes(old, new)
                if old or new:
                    audit_record(action=AuditEntry.Action.CHANGE, obj=child, before=old, after=new)

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._audit_saved(request, obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._audit_saved(request, obj)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        """Reads the objects before their deletion; `_audit_deleted` records the ones then gone."""
        if audit_available():
            deleting = getattr(request, _DELETING, [])
            deleting.extend((obj, obj.pk, audit_snapshot(obj)) for obj in queryset)
            setattr(request, _DELETING, deleting)
        return super().log_deletions(request, queryset)

    def _audit_deleted(self, request: HttpRequest) -> None:
        # A page's delete_model may refuse (a service's Conflict shown as a message): only the gone.
        for obj, pk, before in getattr(request, _DELETING, []):
            if type(obj)._base_manager.filter(pk=pk).exists():
                continue
            obj.pk = pk  # Django's delete() set it to None
            if not audit_recorded(obj=obj):
                audit_record(action=AuditEntry.Action.DELETE, obj=obj, before=before)
        setattr(request, _DELETING, [])

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        self._audit_deleted(request)
        return super().response_delete(request, obj_display, obj_id)

    def _audit_selected(self, request: HttpRequest, queryset: Any) -> dict[Any, tuple[Model, dict]]:
        """The objects an action is about to act on, with their values (none past ACTION_AUDIT_MAX:
        an action over a whole large list is left to the services it calls)."""
        if not audit_available():
            return {}
        if request.POST.get("select_across") != "1":
            queryset = queryset.filter(pk__in=request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        objects = list(queryset.order_by()[: ACTION_AUDIT_MAX + 1])
        if len(objects) > ACTION_AUDIT_MAX:
            return {}
        return {obj.pk: (obj, audit_snapshot(obj)) for obj in objects}

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """An action (a bulk update, a deletion...) records what it changed in each object it was
        given, unless a service it called did."""
        selected = self._audit_selected(request, queryset)
        response = super().response_action(request, queryset)
        self._audit_deleted(request)
        action = request.POST.get("action", "")
        reason = str(self.get_actions(request).get(action, (None, action, action))[2])
        after = {obj.pk: obj for obj in self.model._base_manager.filter(pk__in=list(selected))}
        for pk, (obj, before) in selected.items():
            if audit_recorded(obj=obj):
                continue
            if pk not in after:
                audit_record(action=AuditEntry.Action.DELETE, obj=obj, before=before, reason=reason)
                continue
            old, new = audit_changes(before, audit_snapshot(after[pk]))
            if old or new:
                audit_record(
                    action=AuditEntry.Action.CHANGE, obj=after[pk], before=old, after=new, reason=reason
                )
        return response

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        """Django's history, with the object's audit entries and its inline rows' first (for those
        who may read the audit trail)."""
        context = dict(extra_context or {})
        if audit_available() and request.user.has_perm("core.view_auditentry"):
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and self.has_view_or_change_permission(request, obj):
                entries = audit_entries_for(obj=obj, children=self._audit_children(request, obj))
                context["audit_entries"] = [
                    (entry, audit_entry_rows(entry=entry), None) for entry in entries[:200]
                ]
        return super().history_view(request, object_id, extra_context=context)


class TabularInline(UnfoldTabularInline):
    """Rows of a related model, as a table inside a form."""

    formfield_overrides = _with_urls(UnfoldTabularInline.formfield_overrides)


class StackedInline(UnfoldStackedInline):
    """Rows of a related model, each as a form inside a form."""

    formfield_overrides = _with_urls(UnfoldStackedInline.formfield_overrides)
