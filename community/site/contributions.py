"""The member site's contributions (README "Community > Contributions"): the open types with the
approved public ones (testimonials), a type's form (text, reference, product or place, photos), the
member's own contributions with their states, and the monthly leaderboards of contributors (per
type) and helpers (best answers, `community.selectors.qa`)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext, gettext_lazy

from catalog.views import member_required, site_member
from community.models import ContributionType, RejectionReason, Subject
from community.models.contributions import CONTRIBUTION_TEXT_MAX_LENGTH, PHOTOS_MAX
from community.selectors.contributions import (
    contribution_type_open,
    contribution_types_open,
    contributions_public,
    contributors_leaderboard,
    member_contributions,
)
from community.selectors.qa import helpers_leaderboard
from community.services.contributions import contribution_submit
from core.errors import DomainError, InvalidInput
from themes.texts import markdown_html

REFUSALS = {"member_not_active": gettext_lazy("Your account cannot contribute.")}


class ContributionForm(forms.Form):
    """The fields of one type: a reference and a subject only when the type asks for them."""

    text = forms.CharField(
        label=gettext_lazy("Your contribution"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=CONTRIBUTION_TEXT_MAX_LENGTH,
    )
    reference = forms.CharField(max_length=80)
    subject = forms.ModelChoiceField(queryset=Subject.objects.none(), label=gettext_lazy("About"))

    def __init__(self, *args, kind: ContributionType, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if kind.reference_label:
            self.fields["reference"].label = kind.reference_label
            self.fields["reference"].required = kind.reference_required
        else:
            del self.fields["reference"]
        if kind.subject_kind:
            self.fields["subject"].queryset = Subject.objects.filter(is_active=True, kind=kind.subject_kind)
            self.fields["subject"].required = False
        else:
            del self.fields["subject"]


def contribute(request: HttpRequest) -> HttpResponse:
    """The open types (each with its form's link) and the latest approved public contributions."""
    return render(
        request,
        "community/site/contributions/contribute.html",
        {
            "types": contribution_types_open(),
            "public": contributions_public(),
            "member": site_member(request),
        },
    )


@member_required
def contribute_type(request: HttpRequest, type_id: int) -> HttpResponse:
    kind = contribution_type_open(type_id=type_id)
    if kind is None:
        raise Http404("no such contribution type")
    form = ContributionForm(request.POST or None, kind=kind)
    photo_errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        subject = form.cleaned_data.get("subject")
        try:
            contribution_submit(
                member=request.member,
                type_id=kind.pk,
                text=form.cleaned_data["text"],
                reference=form.cleaned_data.get("reference", ""),
                subject_id=subject.pk if subject else None,
                photos=request.FILES.getlist("photos"),
            )
        except InvalidInput as error:
            for field, problems in error.errors.items():
                if field == "photos":
                    photo_errors += problems
                else:
                    form.add_error(field if field in form.fields else None, problems)
        except DomainError as error:
            messages.error(request, str(REFUSALS.get(error.code, error.message)))
        else:
            messages.success(
                request, gettext("Thank you: your contribution is sent, our team will review it.")
            )
            return redirect("community-contributions")
    return render(
        request,
        "community/site/contributions/form.html",
        {
            "kind": kind,
            "description": markdown_html(kind.description),  # sanitised (nh3): shown as it is
            "form": form,
            "photo_errors": photo_errors,
            "photos_max": PHOTOS_MAX,
        },
        status=400 if request.method == "POST" else 200,
    )


@member_required
def my_contributions(request: HttpRequest) -> HttpResponse:
    contributions = list(member_contributions(member=request.member))
    reasons = dict(RejectionReason.choices)
    for contribution in contributions:
        contribution.reason_label = reasons.get(contribution.rejection_reason, contribution.rejection_reason)  # type: ignore[attr-defined]
    return render(request, "community/site/contributions/mine.html", {"contributions": contributions})


def leaderboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "community/site/contributions/leaderboard.html",
        {"boards": contributors_leaderboard(), "helpers": helpers_leaderboard()},
    )


urlpatterns = [
    path("community/contribute/", contribute, name="community-contribute"),
    path("community/contribute/<int:type_id>/", contribute_type, name="community-contribute-type"),
    path("community/contributions/", my_contributions, name="community-contributions"),
    path("community/leaderboard/", leaderboard, name="community-leaderboard"),
]
