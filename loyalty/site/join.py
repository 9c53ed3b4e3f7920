"""The member site's sign-up (`/join/`), e-mail verification and invitation pages. What they do is
`loyalty.services.signup`'s; a brand with sign-up switched off (`ProgrammeSettings.signup_open`)
shows /join/ as "by invitation only" (a page, status 200, no form) and writes nothing."""

from __future__ import annotations

from django import forms
from django.contrib.auth import login, password_validation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError, InvalidInput
from core.lockout import client_ip
from loyalty.models import Consent
from loyalty.selectors.programme import programme_settings
from loyalty.services.signup import (
    SignupOutcome,
    email_mask,
    invitation_accept,
    invitation_member,
    signup_create,
    signup_errors,
    signup_verify,
)
from loyalty.site.forms import NewPasswordForm

LOGIN_BACKEND = "core.lockout.LockoutModelBackend"
CHANNEL_LABELS = {
    Consent.Channel.EMAIL: _("By e-mail"),
    Consent.Channel.SMS: _("By SMS"),
    Consent.Channel.VOICE: _("By phone call"),
    Consent.Channel.POST: _("By post"),
}


class JoinForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=80)
    last_name = forms.CharField(label=_("Last name"), max_length=80)
    email = forms.EmailField(label=_("E-mail address"), max_length=150)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html,
    )
    phone = forms.CharField(
        label=_("Mobile phone (optional)"),
        required=False,
        max_length=24,
        help_text=_("With the country code, such as +33612345678."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    terms = forms.BooleanField(
        label=_("I accept the terms of the programme"),
        error_messages={"required": _("Accept the terms to join.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for channel, label in Consent.Channel.choices:
            self.fields[f"consent_{channel}"] = forms.BooleanField(
                label=CHANNEL_LABELS.get(channel, label), required=False, initial=False, label_suffix=""
            )
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"

    def clean(self) -> dict:
        """Every error at once: the service's checks (password strength, phone) for the fields the
        form itself found no fault with."""
        data = super().clean()
        found = signup_errors(
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            email=data.get("email", ""),
            password=data.get("password", ""),
            phone=data.get("phone", ""),
            terms=data.get("terms", False),
        )
        for field, messages in found.items():
            if field not in self.errors:
                self.add_error(field, messages)
        return data

    def consent_fields(self) -> list:
        return [self[f"consent_{channel}"] for channel in Consent.Channel.values]

    def consents(self) -> dict[str, bool]:
        return {channel: self.cleaned_data[f"consent_{channel}"] for channel in Consent.Channel.values}


def _errors_to_form(form: forms.Form, error: DomainError, *, fields: dict[str, str] | None = None) -> None:
    """A service's errors shown on the form's fields (`fields` renames the service's)."""
    for field, messages in error.errors.items():
        name = (fields or {}).get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:  # joined already: their account
        return redirect("site-account")
    if not programme_settings().signup_open:
        return render(request, "loyalty/site/join_closed.html")
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = signup_create(
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                password=data["password"],
                phone=data["phone"],
                consents=form.consents(),
                terms=data["terms"],
                ip=client_ip(request),
                base_url=_site_url(request),
            )
        except InvalidInput as error:
            _errors_to_form(form, error)
        else:
            return _joined(request, outcome, email=data["email"])
    return render(request, "loyalty/site/join.html", {"form": form})


def _joined(request: HttpRequest, outcome: SignupOutcome, *, email: str) -> HttpResponse:
    """Whatever the e-mail was, the page says a link was sent to it; a new member is logged in."""
    if outcome.outcome == "created":
        login(request, outcome.user, backend=LOGIN_BACKEND)
    request.session["join_email"] = email_mask(email.strip().lower())
    return redirect("site-join-sent")


def join_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "loyalty/site/join_sent.html", {"email": request.session.get("join_email", "")})


def join_verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        signup = signup_verify(token=token)
    except DomainError as error:
        return render(request, "loyalty/site/join_link_failed.html", {"error": error}, status=400)
    return render(request, "loyalty/site/join_verified.html", {"signup": signup})


@require_http_methods(["GET", "POST"])
def join_invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        member = invitation_member(token=token)
    except DomainError as error:
        return render(request, "loyalty/site/join_link_failed.html", {"error": error}, status=400)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, password=form.cleaned_data["new_password1"])
        except InvalidInput as error:
            _errors_to_form(form, error, fields={"password": "new_password2"})
        except DomainError as error:
            return render(request, "loyalty/site/join_link_failed.html", {"error": error}, status=400)
        else:
            login(request, user, backend=LOGIN_BACKEND)
            return redirect("site-account")
    return render(
        request,
        "loyalty/site/join_invitation.html",
        {"form": form, "member": member, "email": member.email.lower()},
    )
