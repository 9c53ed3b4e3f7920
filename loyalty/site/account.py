"""The member site's landing page and account pages: dashboard (with its live balance and the
personalised offer), history, profile (consents recorded with the address they came from) and
the sales reps' read-only portfolio. Page data comes from `loyalty.selectors.site`."""

from __future__ import annotations

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from catalog.views import member_required
from core.errors import InvalidInput
from core.formats import money_format
from core.lockout import client_ip
from loyalty.languages import request_languages
from loyalty.models import Consent, LedgerEntry, Member
from loyalty.selectors.languages import SiteLanguages
from loyalty.selectors.offers import offer_due
from loyalty.selectors.site import (
    HISTORY_PERIODS,
    balance_data,
    dashboard_data,
    history_entries,
    landing_data,
    portfolio_member,
    portfolio_members,
)
from loyalty.services.members import member_upsert
from loyalty.services.offers import offer_seen_mark
from tenants.selectors import brand_timezone

HISTORY_PER_PAGE = 25
PORTFOLIO_PER_PAGE = 50


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """The page rendered with dates in the brand's timezone."""
    with timezone.override(brand_timezone()):
        return render(request, template, context, status=status)


def home(request: HttpRequest) -> HttpResponse:
    return _page(request, "loyalty/site/home.html", {"landing": landing_data()})


@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    offer = offer_due(member=member)
    if offer is not None and not offer_seen_mark(offer=offer, member=member):
        offer = None  # shown by a concurrent page view
    return _page(
        request, "loyalty/site/dashboard.html", {"page": dashboard_data(member=member), "offer": offer}
    )


@member_required
def balance_json(request: HttpRequest) -> JsonResponse:
    data = balance_data(member_id=request.member.pk)  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "balance": data["balance"],
            "balance_text": number_format(data["balance"], force_grouping=True),
            "value": str(data["value"]),
            "value_text": money_format(data["value"], data["currency"]),
        },
        headers={"Cache-Control": "no-store"},
    )


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *LedgerEntry.Kind.choices]
    )
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[
            ("all", _("All time")),
            ("30d", _("Last 30 days")),
            ("90d", _("Last 90 days")),
            ("1y", _("Last 12 months")),
        ],
    )


@member_required
def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET or None)
    kind, period = "", "all"
    if form.is_bound and form.is_valid():
        kind, period = form.cleaned_data["kind"], form.cleaned_data["period"] or "all"
    assert period in HISTORY_PERIODS
    entries = history_entries(member=request.member, kind=kind, period=period)  # type: ignore[attr-defined]
    page = Paginator(entries, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request, "loyalty/site/history.html", {"form": form, "page": page, "query": query.urlencode()}
    )


CONSENT_LABELS = {
    Consent.Channel.EMAIL: _("E-mails"),
    Consent.Channel.SMS: _("Text messages (SMS)"),
    Consent.Channel.VOICE: _("Phone calls"),
    Consent.Channel.POST: _("Letters by post"),
}


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=80, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=80, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=16,
        required=False,
        help_text=_("International form, such as +33612345678"),
    )
    address_line1 = forms.CharField(label=_("Address"), max_length=160, required=False)
    address_line2 = forms.CharField(label=_("Address (line 2)"), max_length=160, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=16, required=False)
    city = forms.CharField(label=_("City"), max_length=80, required=False)
    country = forms.CharField(label=_("Country (ISO code, such as FR)"), max_length=2, required=False)
    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args, languages: SiteLanguages, **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        names = dict(settings.LANGUAGES)
        self.fields["language"].choices = [(code, names.get(code, code)) for code in languages.offered]
        for channel, label in CONSENT_LABELS.items():
            self.fields[f"consent_{channel}"] = forms.BooleanField(label=label, required=False)

    @classmethod
    def initial_for(cls, member: Member) -> dict:
        initial = {field: getattr(member, field) for field in cls.base_fields}
        granted = {consent.channel: consent.granted for consent in member.consents.all()}
        initial.update({f"consent_{channel}": granted.get(channel, False) for channel in CONSENT_LABELS})
        return initial

    def member_data(self) -> dict:
        return {field: self.cleaned_data[field] for field in type(self).base_fields}

    def consents(self) -> dict[str, bool]:
        return {str(channel): self.cleaned_data[f"consent_{channel}"] for channel in CONSENT_LABELS}

    @property
    def consent_fields(self) -> list:
        return [self[f"consent_{channel}"] for channel in CONSENT_LABELS]

    @property
    def contact_fields(self) -> list:
        return [self[field] for field in type(self).base_fields]


@member_required
def profile(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    if request.method == "POST":
        form = ProfileForm(request.POST, languages=request_languages(request))
        if form.is_valid():
            try:
                member_upsert(
                    external_id=member.external_id,
                    data=form.member_data(),
                    consents=form.consents(),
                    source="site",
                    ip=client_ip(request),
                )
            except InvalidInput as error:
                for field, problems in (error.errors or {}).items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("site-profile")
        return _page(request, "loyalty/site/profile.html", {"form": form}, status=400)
    form = ProfileForm(initial=ProfileForm.initial_for(member), languages=request_languages(request))
    return _page(request, "loyalty/site/profile.html", {"form": form})


def rep_required(view):
    """A staff user (the brand's sales reps are staff users); others get the "members only" page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            return render(request, "catalog/not_a_member.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


@rep_required
def portfolio(request: HttpRequest) -> HttpResponse:
    page = Paginator(portfolio_members(rep=request.user), PORTFOLIO_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return _page(request, "loyalty/site/portfolio.html", {"page": page})


@rep_required
def portfolio_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    found = portfolio_member(rep=request.user, external_id=external_id)
    if found is None:
        raise Http404("not a member of your portfolio")
    return _page(request, "loyalty/site/portfolio_member.html", {"found": found})
