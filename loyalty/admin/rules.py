"""Backoffice: earning rules (validated by `loyalty.services.rules`, like the API) with the simulator
on each rule's page, and the event types the programme accepts.

The simulator asks `event_simulate` what an event (member, type, time, attributes) would earn and
why, trying the rule on the page as if it were live; it writes nothing.
"""

from __future__ import annotations

import copy
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.admin_base import ModelAdmin
from core.errors import DomainError, InvalidInput
from loyalty.admin.forms import BackofficeJSONField
from loyalty.engine import EVENT_FIELDS, ITEM_FIELDS, OPERATORS
from loyalty.models import ActivityEvent, EarningRule, EventType
from loyalty.services.events import EventInput, event_simulate
from loyalty.services.rules import (
    RULE_FIELDS,
    rule_create,
    rule_delete,
    rule_update,
    rule_validate,
)

CONDITIONS_HELP = (
    'A list of {"field": ..., "op": ..., "value": ...}, all of which must hold. Fields: '
    + ", ".join(EVENT_FIELDS)
    + ", attributes.<name>. Operators: "
    + ", ".join(OPERATORS)
    + '. Example: [{"field": "attributes.zone_to", "op": "equals", "value": 1}, '
    '{"field": "local_time", "op": "between", "value": ["18:00", "22:00"]}]. '
    "A between includes both bounds (a time window: its start, not its end); "
    '"inclusive": [low, high] says it per bound: over 1,000 up to 5,000 EUR is '
    '{"field": "amount", "op": "between", "value": [1000, 5000], "inclusive": [false, true]}; '
    "over 1,000 alone is gt 1000."
)
ITEM_CONDITIONS_HELP = (
    "Conditions an item of the event must meet (fields: "
    + ", ".join(ITEM_FIELDS)
    + '), for awards on items. Example: [{"field": "category", "op": "equals", "value": "featured"}]'
)


class EarningRuleForm(forms.ModelForm):
    class Meta:
        model = EarningRule
        fields = RULE_FIELDS
        help_texts = {"conditions": CONDITIONS_HELP, "item_conditions": ITEM_CONDITIONS_HELP}
        field_classes = {"conditions": BackofficeJSONField, "item_conditions": BackofficeJSONField}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            rule_validate(
                data={field: cleaned.get(field) for field in RULE_FIELDS},
                instance=self.instance if self.instance.pk else None,
            )
        except InvalidInput as error:
            for field, field_messages in error.errors.items():
                self.add_error(field if field in self.fields else None, field_messages)
        return cleaned


class SimulatorForm(forms.Form):
    member = forms.CharField(max_length=64, label="Member (external id)")
    event_type = forms.ChoiceField(label="Event type")
    occurred_at = forms.DateTimeField(
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
        help_text="in the brand's timezone, to the second",
    )
    attributes = BackofficeJSONField(
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        help_text='JSON, e.g. {"amount": "120.00", "items": [{"sku": "A1", "category": "featured", '
        '"quantity": 1, "unit_price": "40.00"}]}',
    )

    def __init__(self, *args, attach_to: str | None = None, **kwargs):
        """`attach_to`: the id of the page's form the fields belong to (HTML `form` attribute)."""
        super().__init__(*args, **kwargs)
        self.attach_to = attach_to
        self.fields["event_type"].choices = [
            (t.code, f"{t.name} ({t.code})") for t in EventType.objects.order_by("code")
        ]
        if attach_to:
            for field in self.fields.values():
                field.widget.attrs["form"] = attach_to


_ERROR_FIELDS = {"member": "member", "type": "event_type", "occurred_at": "occurred_at"}


def simulation_run(*, form: SimulatorForm, rule: EarningRule | None) -> dict | None:
    """The simulator's answer, or None with the problem added to the form."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    attributes = data["attributes"] if data["attributes"] is not None else {}
    try:
        result = event_simulate(
            data=EventInput(
                member=data["member"],
                type=data["event_type"],
                occurred_at=data["occurred_at"],
                attributes=attributes,
                idempotency_key="",
            ),
            include_rule=rule,
        )
    except DomainError as error:
        named = error.field or ""
        field = _ERROR_FIELDS.get(named, "attributes" if named.startswith("attributes") else None)
        form.add_error(field, f"{error.field}: {error.message}" if field == "attributes" else error.message)
        return None
    for award in result["awards"]:
        award["explanation_json"] = json.dumps(award["explanation"], indent=2, cls=DjangoJSONEncoder)
    return result


@admin.register(EarningRule)
class EarningRuleAdmin(ModelAdmin):
    form = EarningRuleForm
    change_form_template = "loyalty/admin/rules/change_form.html"
    change_list_template = "loyalty/admin/rules/change_list.html"
    list_display = (
        "name",
        "event_type",
        "award_type",
        "beneficiary",
        "priority",
        "stop_after",
        "is_active",
        "budget",
    )
    list_filter = ("event_type", "is_active", "award_type", "beneficiary")
    search_fields = ("name", "event_type")
    readonly_fields = ("budget_used",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "event_type",
                    "priority",
                    "stop_after",
                    "is_active",
                    "active_from",
                    "active_until",
                )
            },
        ),
        (gettext_lazy("Conditions"), {"fields": ("conditions", "item_conditions")}),
        (
            gettext_lazy("Award"),
            {
                "fields": (
                    "award_type",
                    "points",
                    "points_per_unit",
                    "rounding",
                    "multiplier",
                    "percent",
                    "apply_tier_multiplier",
                )
            },
        ),
        (
            gettext_lazy("Limits"),
            {
                "fields": (
                    "max_points_per_event",
                    "limit_period",
                    "limit_points",
                    "global_budget",
                    "budget_used",
                )
            },
        ),
        (gettext_lazy("Beneficiary"), {"fields": ("beneficiary",)}),
    )

    @admin.display(description=gettext_lazy("budget"))
    def budget(self, rule: EarningRule) -> str:
        return f"{rule.budget_used} / {rule.global_budget}" if rule.global_budget is not None else "—"

    def get_urls(self):
        return [
            path(
                "simulate/",
                self.admin_site.admin_view(self.simulate_view),
                name="loyalty_earningrule_simulate",
            ),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data.get(field) for field in RULE_FIELDS}
        rule = rule_update(rule=obj, data=data) if change else rule_create(data=data)
        obj.pk = rule.pk

    def delete_model(self, request, obj):
        rule_delete(rule=obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            rule_delete(rule=rule)

    def get_deleted_objects(self, objs, request):
        # Ledger entries protect a rule that gave points: rule_delete deactivates it instead.
        deleted, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, []

    def response_delete(self, request, obj_display, obj_id):
        if EarningRule.objects.filter(pk=obj_id).exists():
            self.message_user(
                request,
                f"“{obj_display}” already gave points, so it is deactivated rather than deleted.",
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:loyalty_earningrule_changelist"))
        return super().response_delete(request, obj_display, obj_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The rule's page, with the simulator; a simulation posts here and saves nothing.

        The simulator's fields belong to the rule's form (the page's one form): a simulation tries
        the rule as it is on the page, edits included, and the page is drawn again (as for a GET, so
        nothing can be saved) with the rule's form bound to those edits, errors shown if any. A
        rule the edits made invalid is not simulated: the simulator says why."""
        rule = self.get_object(request, object_id)
        context = dict(extra_context or {})
        form_id = f"{self.opts.model_name}_form"  # the id Django's admin gives the change form
        if rule is not None and request.method == "POST" and "_simulate" in request.POST:
            if not self.has_view_or_change_permission(request, rule):
                raise PermissionDenied
            form = SimulatorForm(request.POST, prefix="sim", attach_to=form_id)
            edits = request.POST if set(RULE_FIELDS) & set(request.POST) else None
            tried = self._rule_as_edited(request, rule, edits=edits, simulator=form)
            if tried is not None:
                context["simulation"] = simulation_run(form=form, rule=tried)
            request = copy.copy(request)
            request.method, request.POST = "GET", QueryDict()
            request.rule_edits = edits  # `get_form`: the page's form shows them
        else:
            form = SimulatorForm(prefix="sim", initial=_simulator_initial(rule), attach_to=form_id)
        context["simulator_form"] = form
        return super().change_view(request, object_id, form_url, context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        edits = getattr(request, "rule_edits", None)
        if edits is None:
            return form_class

        class WithEdits(form_class):
            """Drawn bound to the edits a simulation tried (the page's GET builds it unbound)."""

            def __init__(self, *args, **form_kwargs):
                if not args and "data" not in form_kwargs:
                    form_kwargs["data"] = edits
                super().__init__(*args, **form_kwargs)

        return WithEdits

    def _rule_as_edited(
        self, request, rule: EarningRule, *, edits, simulator: SimulatorForm
    ) -> EarningRule | None:
        """The rule with the page's `edits` applied (unsaved), through the page's own form (split
        date and time fields included), or None with the rule's errors added to the simulator's
        form. No edits (a post of the simulator alone): the rule as saved."""
        if edits is None:
            return rule
        edited = self.get_form(request, rule, change=True)(edits, instance=copy.deepcopy(rule))
        if edited.is_valid():
            return edited.instance
        problems = "; ".join(
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in edited.errors.items()
        )
        simulator.add_error(None, f"The rule as edited is not valid, so it was not simulated: {problems}")
        return None

    def simulate_view(self, request: HttpRequest) -> HttpResponse:
        """The simulator with the live rules only."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        simulation = None
        if request.method == "POST":
            form = SimulatorForm(request.POST, prefix="sim")
            simulation = simulation_run(form=form, rule=None)
        else:
            form = SimulatorForm(prefix="sim", initial=_simulator_initial(None))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Simulate an event",
            "simulator_form": form,
            "simulation": simulation,
        }
        return TemplateResponse(request, "loyalty/admin/rules/simulate.html", context)


def _simulator_initial(rule: EarningRule | None) -> dict:
    now = timezone.localtime().replace(second=0, microsecond=0)
    return {"event_type": rule.event_type if rule else "purchase", "occurred_at": now, "attributes": {}}


@admin.register(EventType)
class EventTypeAdmin(ModelAdmin):
    """Event types are referenced by code (rules, events, badges): the code is fixed once created,
    and a type in use is not deleted."""

    list_display = ("code", "name", "description", "rules")
    search_fields = ("code", "name")

    @admin.display(description=gettext_lazy("active rules"))
    def rules(self, event_type: EventType) -> int:
        return EarningRule.objects.filter(event_type=event_type.code, is_active=True).count()

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and _event_type_in_use(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        in_use = [event_type.code for event_type in queryset if _event_type_in_use(event_type)]
        if in_use:
            self.message_user(
                request, f"Kept (in use by rules or events): {', '.join(in_use)}", messages.WARNING
            )
        queryset.exclude(code__in=in_use).delete()


def _event_type_in_use(event_type: EventType) -> bool:
    code = event_type.code
    return (
        EarningRule.objects.filter(event_type=code).exists()
        or ActivityEvent.objects.filter(type=code).exists()
    )
