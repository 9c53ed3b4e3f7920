"""The staff pages of the backoffice (README "Staff accounts"): the invitation link's page, the
two-factor code asked after the password, the two-factor setup, and the owner's staff settings.
Thin: the work is in `core.staff` and `core.totp`."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from unfold.widgets import (
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminPasswordWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from core.errors import DomainError
from core.lockout import client_ip
from core.models import StaffSettings
from core.roles import staff_settings_get
from core.staff import (
    staff_invitation_accept,
    staff_invitation_user,
    staff_profile_of,
    staff_settings_update,
)
from core.staff_sessions import second_factor_passed, second_factor_step
from core.totp import (
    totp_login_check,
    totp_qr_svg,
    totp_recovery_codes_renew,
    totp_remove,
    totp_setup_begin,
    totp_setup_confirm,
    totp_uri,
)

BACKEND = "core.lockout.LockoutModelBackend"


def _errors_to_form(form: forms.Form, error: DomainError) -> None:
    for field, texts in error.errors.items():
        for text in texts:
            form.add_error(field if field in form.fields else None, text)


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    return render(request, template, {**admin.site.each_context(request), **context}, status=status)


# --- the invitation -----------------------------------------------------------------------------


class PasswordChoiceForm(forms.Form):
    password1 = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=UnfoldAdminPasswordWidget({"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("The same password again"),
        strip=False,
        widget=UnfoldAdminPasswordWidget({"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def staff_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee chooses their password, then is logged in (the second factor comes next)."""
    try:
        user = staff_invitation_user(token=token)
    except DomainError as error:
        return _page(
            request,
            "core/staff/invitation.html",
            {"title": _("Invitation"), "link_error": error.message},
            status=410,
        )
    form = PasswordChoiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_invitation_accept(token=token, password=form.cleaned_data["password1"])
        except DomainError as error:
            _errors_to_form(form, error)
        else:
            if request.user.is_authenticated:
                logout(request)
            login(request, user, backend=BACKEND)
            messages.success(request, _("Welcome: your password is set."))
            return redirect("admin:index")
    return _page(
        request, "core/staff/invitation.html", {"title": _("Invitation"), "form": form, "invitee": user}
    )


# --- the second factor ----------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=20,
        help_text=gettext_lazy("The 6 digits the app shows now, or one of your recovery codes."),
        widget=UnfoldAdminTextInputWidget({"autocomplete": "one-time-code", "autofocus": ""}),
    )


def _staff_only(request: HttpRequest) -> None:
    if not request.user.is_authenticated or not request.user.is_staff:
        raise PermissionDenied


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """The code asked after the password, when the staff user set up an app."""
    if not request.user.is_authenticated:
        return redirect("admin:login")
    _staff_only(request)
    if second_factor_step(request) != "code":
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    next_url = _next(request)
    context = {"title": _("Two-factor authentication"), "form": form, "next": next_url}
    if request.method == "POST" and form.is_valid():
        check = totp_login_check(user=request.user, code=form.cleaned_data["code"], ip=client_ip(request))
        if check.lockout is not None:
            logout(request)
            return _page(
                request,
                "core/staff/two_factor.html",
                {**context, "form": None, "locked": True},
                status=429,
            )
        if check.accepted:
            second_factor_passed(request)
            if check.recovery:
                messages.warning(
                    request,
                    _("You used a recovery code: %(left)d left. Make new ones on the two-factor page.")
                    % {"left": check.recovery_left},
                )
            return redirect(next_url)
        form.add_error("code", _("This code is wrong or was used already."))
    return _page(request, "core/staff/two_factor.html", context)


class ConfirmForm(CodeForm):
    code = forms.CharField(
        label=gettext_lazy("Code from the app"),
        max_length=10,
        widget=UnfoldAdminTextInputWidget({"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app (scan, confirm with a first code, keep the recovery codes), make
    new recovery codes, or stop using the app when the owner does not require it."""
    if not request.user.is_authenticated:
        return redirect("admin:login")
    _staff_only(request)
    if second_factor_step(request) == "code":  # set up already: the code first
        return redirect(f"{reverse('backoffice:two_factor')}?next={reverse('backoffice:two_factor_setup')}")
    profile = staff_profile_of(request.user)
    if profile is None:
        raise PermissionDenied
    required = staff_settings_get().two_factor_required
    context: dict = {"title": _("Two-factor authentication"), "required": required, "next": _next(request)}
    form = ConfirmForm(request.POST if request.POST.get("action") == "confirm" else None)
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "confirm" and form.is_valid():
        try:
            codes = totp_setup_confirm(user=request.user, code=form.cleaned_data["code"])
        except DomainError as error:
            _errors_to_form(form, error)
        else:
            second_factor_passed(request)
            return _page(request, "core/staff/two_factor_setup.html", {**context, "recovery_codes": codes})
    elif action == "recovery_codes" and profile.totp_confirmed_at is not None:
        codes = totp_recovery_codes_renew(user=request.user)
        return _page(request, "core/staff/two_factor_setup.html", {**context, "recovery_codes": codes})
    elif action == "remove" and profile.totp_confirmed_at is not None and not required:
        totp_remove(user=request.user)
        messages.success(request, _("Two-factor authentication is off for your account."))
        return redirect("backoffice:two_factor_setup")
    elif action == "restart":
        totp_setup_begin(user=request.user)
        return redirect("backoffice:two_factor_setup")
    profile.refresh_from_db()
    if profile.totp_confirmed_at is None:
        secret = profile.totp_secret or totp_setup_begin(user=request.user)
        brand = getattr(request, "tenant", None)
        uri = totp_uri(
            secret=secret,
            account=request.user.get_username(),
            issuer=getattr(brand, "name", "") or "Backoffice",
        )
        context.update({"form": form, "secret": secret, "qr_svg": totp_qr_svg(uri)})
    context["profile"] = profile
    return _page(request, "core/staff/two_factor_setup.html", context)


# --- the owner's staff settings --------------------------------------------------------------------


class StaffSettingsForm(forms.Form):
    support_adjust_limit = forms.IntegerField(
        label=gettext_lazy("Support's adjustment limit (points)"),
        min_value=0,
        help_text=StaffSettings._meta.get_field("support_adjust_limit").help_text,
        widget=UnfoldAdminIntegerFieldWidget,
    )
    two_factor_required = forms.BooleanField(
        label=gettext_lazy("Two-factor authentication required"),
        required=False,
        help_text=StaffSettings._meta.get_field("two_factor_required").help_text,
        widget=UnfoldBooleanSwitchWidget,
    )
    idle_minutes = forms.IntegerField(
        label=gettext_lazy("Idle session length (minutes)"),
        min_value=5,
        max_value=24 * 60,
        help_text=StaffSettings._meta.get_field("idle_minutes").help_text,
        widget=UnfoldAdminIntegerFieldWidget,
    )


@require_http_methods(["GET", "POST"])
def staff_settings(request: HttpRequest) -> HttpResponse:
    """The owner's page (`core.manage_staff`): the staff rules of the brand."""
    if not request.user.has_perm("core.manage_staff"):
        raise PermissionDenied
    row = staff_settings_get()
    initial = {name: getattr(row, name) for name in StaffSettingsForm.base_fields}
    form = StaffSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            staff_settings_update(values=form.cleaned_data)
        except DomainError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("The staff settings are saved."))
            return redirect("backoffice:staff_settings")
    return _page(request, "core/staff/settings.html", {"title": _("Staff settings"), "form": form})
