"""Backoffice: VIP plans, written to the brand's Stripe account when saved (`billing.services.plans`),
with the Stripe account's pages (`billing.admin.connect`) and the sandbox's controls
(`billing.admin.sandbox`) under them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext_lazy

from billing.admin.connect import connect_urls
from billing.admin.sandbox import sandbox_urls
from billing.models import VipPlan
from billing.services.plans import EDITABLE_FIELDS, vip_plan_save, vip_plan_validate
from core.admin_base import ModelAdmin
from core.errors import Refused
from loyalty.admin.programme import ServiceForm


class VipPlanForm(ServiceForm):
    service_validate = staticmethod(vip_plan_validate)

    class Meta:
        model = VipPlan
        fields = EDITABLE_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "code" not in self.fields:  # read only (the view permission alone): values shown as text
            return
        self.fields["code"].required = False
        self.fields["code"].help_text = gettext_lazy("empty: made from the name")

    def _instance_kwarg(self) -> dict:
        return {"plan": self.instance} if self.instance.pk else {}


@admin.register(VipPlan)
class VipPlanAdmin(ModelAdmin):
    form = VipPlanForm
    change_list_template = "billing/admin/vipplan_change_list.html"
    list_display = [
        "name",
        "code",
        "price",
        "currency",
        "interval",
        "trial_days",
        "is_active",
        "subscribers",
        "synced_at",
    ]
    readonly_fields = ["stripe_product_id", "stripe_price_id", "synced_at"]
    fieldsets = [
        (None, {"fields": ["name", "code", "benefits", "is_active", "position"]}),
        (gettext_lazy("Price"), {"fields": ["price", "currency", "interval", "trial_days"]}),
        (gettext_lazy("Stripe"), {"fields": ["stripe_product_id", "stripe_price_id", "synced_at"]}),
    ]

    def get_queryset(self, request: HttpRequest):
        live = Q(subscriptions__status__in=["trialing", "active", "past_due"])
        return super().get_queryset(request).annotate(subscriber_count=Count("subscriptions", filter=live))

    @admin.display(description=gettext_lazy("subscribers"), ordering="subscriber_count")
    def subscribers(self, plan: VipPlan) -> int:
        return plan.subscriber_count

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # subscriptions name their plan: a plan is taken off sale, never deleted

    def save_model(self, request: HttpRequest, obj: VipPlan, form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name in form.cleaned_data}
        saved = vip_plan_save(data=data, plan=obj if change else None)
        obj.pk = saved.pk
        for name in ("stripe_product_id", "stripe_price_id", "synced_at"):
            setattr(obj, name, getattr(saved, name))

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as error:  # Stripe refused or was unreachable: nothing was saved
            messages.error(request, f"{error.field}: {error.message}" if error.field else error.message)
            return HttpResponseRedirect(request.get_full_path())

    def get_urls(self):
        return [
            *connect_urls(self.admin_site, self.opts),
            *sandbox_urls(self.admin_site, self.opts),
            *super().get_urls(),
        ]
