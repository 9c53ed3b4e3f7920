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

from .forms import BrandCreateForm
from .models import Lockout
from .selectors import brand_list, brand_primary_url
from .services import brand_create, brand_reactivate, brand_suspend


@staff_member_required(login_url="login")
def console_home(request: HttpRequest) -> HttpResponse:
    return _console_render(request, form=BrandCreateForm())


def _console_render(request: HttpRequest, *, form: BrandCreateForm, status: int = 200) -> HttpResponse:
    brands = [(brand, brand_primary_url(brand=brand, port=settings.WEB_PORT)) for brand in brand_list()]
    context = {"brands": brands, "form": form, "lockouts": lockout_list_active()}
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
