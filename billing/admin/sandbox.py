"""Backoffice: the sandbox's controls (no Stripe keys): what time and the member would do to a
sandbox subscription on Stripe, as events shaped like Stripe's (`billing.sandbox`): renew it, fail
its payment, cancel it at the period's end or now."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext

from billing.gateway import sandbox_on
from billing.models import Subscription
from billing.sandbox import (
    sandbox_payment_fail,
    sandbox_subscription_cancel,
    sandbox_subscription_renew,
)
from core.errors import DomainError

PERMISSION = "billing.change_vipplan"
ACTIONS = {
    "renew": (sandbox_subscription_renew, {}),
    "fail": (sandbox_payment_fail, {}),
    "cancel_at_period_end": (sandbox_subscription_cancel, {"at_period_end": True}),
    "cancel_now": (sandbox_subscription_cancel, {"at_period_end": False}),
}


def sandbox_urls(site: admin.AdminSite, opts) -> list[URLPattern]:
    def controls_view(request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        if request.method == "POST":
            subscription_id = request.POST.get("subscription", "")
            if not subscription_id.isdigit():
                raise Http404("no such sandbox subscription")
            subscription = get_object_or_404(Subscription, pk=int(subscription_id), sandbox=True)
            action = ACTIONS.get(request.POST.get("action", ""))
            if action is None:
                messages.error(request, gettext("Unknown sandbox action."))
            else:
                function, options = action
                try:
                    function(subscription=subscription, **options)
                except DomainError as error:
                    messages.error(request, error.message)
                else:
                    messages.success(request, gettext("Done: the sandbox sent Stripe's events."))
            return HttpResponseRedirect(reverse("admin:billing_sandbox"))
        context = {
            **site.each_context(request),
            "opts": opts,
            "title": gettext("Sandbox controls"),
            "sandbox": sandbox_on(),
            "subscriptions": Subscription.objects.filter(sandbox=True).select_related("member", "plan")[:200],
        }
        return TemplateResponse(request, "billing/admin/sandbox.html", context)

    return [path("sandbox/", site.admin_view(controls_view), name="billing_sandbox")]
