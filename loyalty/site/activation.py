"""`/activate/`: B2B activation on the member site (README.md, Activation codes). Step 1 takes the
code from the launch letter and the member's postcode (`activation_attempt`, limited per code and
per address); step 2 sets the password (`activation_complete`), then the member is logged in and
lands on their dashboard. Between the steps the session holds only the code's id, for
STEP_TWO_TIME: nothing typed is kept."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from core.errors import DomainError, InvalidInput, Refused
from core.lockout import client_ip
from loyalty.models import ActivationAttempt, ActivationCode
from loyalty.selectors.activation import activation_login_name
from loyalty.services.activation import activation_attempt, activation_complete
from loyalty.site.forms import NewPasswordForm

SESSION_KEY = "activation"
STEP_TWO_TIME = timedelta(minutes=15)
# Refusals that say "wait": answered 429, as a locked login is.
LOCKS = {ActivationAttempt.Outcome.CODE_LOCKED, ActivationAttempt.Outcome.IP_LOCKED}


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Activation code"),
        max_length=40,
        help_text=_("As printed on your letter, such as K7QM-2XPD-9R (upper or lower case)."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    postal_code = forms.CharField(
        label=_("Postcode"),
        max_length=16,
        help_text=_("The postcode of the address the letter was sent to."),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )


def _step_one(request: HttpRequest, form: CodeForm, refusal: DomainError | None = None) -> HttpResponse:
    status = 429 if refusal is not None and refusal.code in LOCKS else 200
    context = {"form": form, "refusal": refusal}
    return render(request, "loyalty/site/activate.html", context, status=status)


def _code_in_session(request: HttpRequest) -> ActivationCode | None:
    """The code step 1 accepted in this session, while STEP_TWO_TIME lasts."""
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or state.get("until", 0) < timezone.now().timestamp():
        request.session.pop(SESSION_KEY, None)
        return None
    return ActivationCode.objects.select_related("member__user").filter(pk=state.get("code_id")).first()


@never_cache
@csrf_protect
def activate(request: HttpRequest) -> HttpResponse:
    """Step 1: the code and the postcode."""
    if request.method != "POST":
        return _step_one(request, CodeForm())
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _step_one(request, form)
    try:
        code = activation_attempt(
            code=form.cleaned_data["code"],
            postal_code=form.cleaned_data["postal_code"],
            ip=client_ip(request),
        )
    except InvalidInput as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return _step_one(request, form)
    except Refused as error:
        return _step_one(request, form, error)
    until = timezone.now() + STEP_TWO_TIME
    request.session[SESSION_KEY] = {"code_id": code.pk, "until": until.timestamp()}
    return redirect("site-activate-password")


@never_cache
@csrf_protect
def activate_password(request: HttpRequest) -> HttpResponse:
    """Step 2: the new password; then logged in, on the dashboard."""
    code = _code_in_session(request)
    if code is None:
        notice = _("Your activation took too long or has not started: type your code and postcode again.")
        return render(request, "loyalty/site/activate.html", {"form": CodeForm(), "notice": notice})
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            user = activation_complete(code_id=code.pk, password=form.cleaned_data["new_password1"])
        except InvalidInput as error:
            for field, messages in error.errors.items():
                form.add_error(field if field in form.fields else None, messages)
        except DomainError as error:  # used, revoked or expired meanwhile; a staff login
            request.session.pop(SESSION_KEY, None)
            return _step_one(request, CodeForm(), error)
        else:
            request.session.pop(SESSION_KEY, None)
            login(request, user, backend="core.lockout.LockoutModelBackend")
            return redirect("site-account")
    context = {"form": form, "member": code.member, "login_name": activation_login_name(member=code.member)}
    return render(request, "loyalty/site/activate_password.html", context)
