"""The operator console, on the platform's own domain (public schema)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from core.errors import InvalidInput
from core.lockout import lockout_lift, lockout_list_active

from .forms import BrandCreateForm, PlatformPlanForm
from .models import Lockout, PlatformPlan
from .plans import (
    brand_plan_assign,
    brand_usage_lines,
    plan_create,
    plan_list,
    plan_overages_recent,
    plan_update,
)
from .selectors import brand_list, brand_primary_url
from .services import brand_create, brand_reactivate, brand_suspend


@staff_member_required(login_url="login")
def console_home(request: HttpRequest) -> HttpResponse:
    return _console_render(request, form=BrandCreateForm())


def _console_render(
    request: HttpRequest,
    *,
    form: BrandCreateForm,
    plan_form: PlatformPlanForm | None = None,
    status: int = 200,
) -> HttpResponse:
    brands = []
    for brand in brand_list():
        lines = brand_usage_lines(brand=brand)
        url = brand_primary_url(brand=brand, port=settings.WEB_PORT)
        brands.append((brand, url, lines, any(line.over for line in lines)))
    context = {
        "brands": brands,
        "form": form,
        "lockouts": lockout_list_active(),
        "plans": plan_list(),
        "plan_form": plan_form or PlatformPlanForm(),
        "overages": plan_overages_recent(),
    }
    return render(request, "tenants/console.html", context, status=status)


@staff_member_required(login_url="login")
@require_POST
def console_brand_create(request: HttpRequest) -> HttpResponse:
    form = BrandCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            brand, password = brand_create(
                slug=data["slug"],
                name=data["name"],
                admin_email=data["admin_email"],
                extra_domains=[data["domain"]] if data["domain"] else [],
                timezone_name=data["timezone"],
                currency=data["currency"],
            )
        except InvalidInput as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                gettext("Brand %(brand)s created. Admin login: %(email)s / %(password)s (shown once).")
                % {"brand": brand.name, "email": data["admin_email"], "password": password},
            )
            return redirect("console")
    return _console_render(request, form=form, status=400)


@staff_member_required(login_url="login")
@require_POST
def console_brand_status(request: HttpRequest, brand_id: int, action: str) -> HttpResponse:
    brand = get_object_or_404(brand_list(), pk=brand_id)
    if action == "suspend":
        brand_suspend(brand=brand)
        messages.success(request, gettext("%(brand)s is suspended.") % {"brand": brand.name})
    elif action == "reactivate":
        brand_reactivate(brand=brand)
        messages.success(request, gettext("%(brand)s is active again.") % {"brand": brand.name})
    else:
        return HttpResponse(f"Unknown action '{action}'", status=400)
    return redirect("console")


@staff_member_required(login_url="login")
@require_POST
def console_lockout_lift(request: HttpRequest, lockout_id: int) -> HttpResponse:
    lockout = get_object_or_404(Lockout, pk=lockout_id)
    lockout_lift(lockout=lockout, lifted_by=request.user.get_username())
    lifted = gettext("The lockout of %(who)s is lifted.")
    messages.success(request, lifted % {"who": lockout.account or lockout.ip})
    return redirect("console")


@staff_member_required(login_url="login")
@require_POST
def console_plan_create(request: HttpRequest) -> HttpResponse:
    form = PlatformPlanForm(request.POST)
    if form.is_valid():
        try:
            plan = plan_create(**form.cleaned_data)
        except InvalidInput as error:
            form.add_service_errors(error)
        else:
            messages.success(request, gettext("Plan %(plan)s created.") % {"plan": plan.name})
            return redirect("console")
    return _console_render(request, form=BrandCreateForm(), plan_form=form, status=400)


@staff_member_required(login_url="login")
def console_plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(PlatformPlan, pk=plan_id)
    if request.method != "POST":
        form = PlatformPlanForm(
            initial={field: getattr(plan, field) for field in PlatformPlanForm.base_fields}
        )
        return render(request, "tenants/console_plan.html", {"plan": plan, "form": form})
    form = PlatformPlanForm(request.POST)
    if form.is_valid():
        try:
            plan = plan_update(plan=plan, **form.cleaned_data)
        except InvalidInput as error:
            form.add_service_errors(error)
        else:
            messages.success(request, gettext("Plan %(plan)s saved.") % {"plan": plan.name})
            return redirect("console")
    return render(request, "tenants/console_plan.html", {"plan": plan, "form": form}, status=400)


@staff_member_required(login_url="login")
@require_POST
def console_brand_plan(request: HttpRequest, brand_id: int) -> HttpResponse:
    brand = get_object_or_404(brand_list(), pk=brand_id)
    chosen = request.POST.get("plan", "")
    if chosen and not chosen.isdigit():
        return HttpResponse(gettext("Unknown plan '%(plan)s'") % {"plan": chosen}, status=400)
    plan = get_object_or_404(PlatformPlan, pk=int(chosen)) if chosen else None
    brand_plan_assign(brand=brand, plan=plan)
    if plan is None:
        done = gettext("%(brand)s has no plan: no limit.") % {"brand": brand.name}
    else:
        done = gettext("%(brand)s is on the plan %(plan)s.") % {"brand": brand.name, "plan": plan.name}
    messages.success(request, done)
    return redirect("console")
