"""The member site's reviews (README "Community > Review pages"): the reviewed items with their
average, an item's page (its distribution, its published reviews in the reader's language first,
the review form and the report button for members), and the public ratings JSON the brand's own
web site reads (no key, any origin, cached). Writes go through `community.services.reviews`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.html import format_html_join
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from catalog.views import member_required, site_member
from community.models import ModerationState, Subject, SubjectKind
from community.models.reviews import REVIEW_TEXT_MAX_LENGTH, REVIEW_TITLE_MAX_LENGTH
from community.selectors.moderation import settings_get
from community.selectors.reviews import (
    rating_summary,
    ratings_public,
    review_own,
    subject_find,
    subject_ratings,
    subject_reviews,
    subjects_listed,
)
from community.services.reviews import NOTE_MAX_LENGTH, REPORT_REASONS, review_report, review_submit
from core.errors import DomainError

SUBJECTS_PER_PAGE = 24
REVIEWS_PER_PAGE = 10
# The public JSON: browsers and the brand's site may keep it five minutes.
RATINGS_MAX_AGE = 300

# The services' refusals in the member's words (their own messages are the API's).
REFUSALS = {
    "member_not_active": gettext_lazy("Your account cannot write reviews."),
    "own_review": gettext_lazy("You cannot report your own review."),
}


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("Your rating"),
        choices=[(stars, str(stars)) for stars in (5, 4, 3, 2, 1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=REVIEW_TITLE_MAX_LENGTH, required=False)
    text = forms.CharField(
        label=gettext_lazy("Your review"),
        max_length=REVIEW_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6, "data-review-text": ""}),
    )
    experienced_on = forms.DateField(
        label=gettext_lazy("Date of your experience"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class ReportForm(forms.Form):
    review = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=REPORT_REASONS.choices)
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _page_number(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("page", "1"))
    except ValueError:
        return 1


def review_subjects(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in SubjectKind.values else ""
    paginator = Paginator(subjects_listed(kind=kind), SUBJECTS_PER_PAGE)
    page = paginator.get_page(_page_number(request))
    return render(
        request,
        "community/site/reviews/list.html",
        {
            "page": page,
            "previous": page.previous_page_number() if page.has_previous() else None,
            "next": page.next_page_number() if page.has_next() else None,
            "ratings": subject_ratings(subjects=list(page)),
            "kind": kind,
            "kinds": SubjectKind.choices,
        },
    )


def _subject_or_404(kind: str, reference: str) -> Subject:
    subject = subject_find(kind=kind, reference=reference)
    if subject is None:
        raise Http404("no such reviewed item")
    return subject


def _subject_page(
    request: HttpRequest,
    subject: Subject,
    *,
    form: ReviewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    member = site_member(request)
    own = review_own(member=member, subject=subject) if member is not None else None
    if form is None and member is not None:
        initial = (
            {"rating": own.rating, "title": own.title, "text": own.text, "experienced_on": own.experienced_on}
            if own is not None
            else {}
        )
        form = ReviewForm(initial=initial)
    summary = rating_summary(subject=subject)
    reviews = subject_reviews(
        subject=subject,
        language=request.LANGUAGE_CODE,
        page=_page_number(request),
        per_page=REVIEWS_PER_PAGE,
        count=summary.count,
    )
    return render(
        request,
        "community/site/reviews/subject.html",
        {
            "subject": subject,
            "summary": summary,
            "reviews": reviews,
            "member": member,
            "own": own,
            "form": form,
            "report_form": ReportForm() if member is not None else None,
            # The reasons' options, written once for the report form of every review.
            "report_options": format_html_join("", '<option value="{}">{}</option>', REPORT_REASONS.choices),
            "moderation_delay_days": settings_get().moderation_delay_days
            if own and own.state == "held"
            else None,
        },
        status=status,
    )


def review_subject(request: HttpRequest, kind: str, reference: str) -> HttpResponse:
    return _subject_page(request, _subject_or_404(kind, reference))


def _refusal(error: DomainError) -> str:
    return str(REFUSALS.get(error.code, error.message))


@require_POST
@member_required(back_to="community-review-subject")
def review_write(request: HttpRequest, kind: str, reference: str) -> HttpResponse:
    subject = _subject_or_404(kind, reference)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            review = review_submit(member=request.member, subject_id=subject.pk, **form.cleaned_data)
        except DomainError as error:
            if error.by_field or error.field in form.fields:
                for field, texts in error.errors.items():
                    for text in texts:
                        form.add_error(field if field in form.fields else None, text)
            else:
                form.add_error(None, _refusal(error))
        else:
            if review.state == ModerationState.PUBLISHED:
                messages.success(request, gettext("Thank you: your review is published."))
            else:
                messages.info(request, gettext("Thank you: your review is waiting for moderation."))
            return redirect("community-review-subject", kind=subject.kind, reference=subject.reference)
    return _subject_page(request, subject, form=form, status=400)


@require_POST
@member_required(back_to="community-review-subject")
def review_report_post(request: HttpRequest, kind: str, reference: str) -> HttpResponse:
    subject = _subject_or_404(kind, reference)
    form = ReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose the reason of your report."))
    else:
        try:
            review_report(
                review_id=form.cleaned_data["review"],
                member=request.member,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            messages.error(request, _refusal(error))
        else:
            messages.success(request, gettext("Thank you: the review is reported to the moderators."))
    return redirect("community-review-subject", kind=subject.kind, reference=subject.reference)


def _public(response: HttpResponse) -> HttpResponse:
    """Readable from any origin, without credentials, kept five minutes by browsers and proxies."""
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    response["Access-Control-Max-Age"] = str(RATINGS_MAX_AGE)
    response["Cache-Control"] = f"public, max-age={RATINGS_MAX_AGE}"
    return response


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def ratings_json(request: HttpRequest, kind: str, reference: str) -> HttpResponse:
    """The public ratings of one listed item for the brand's own web site (its showroom)."""
    if request.method == "OPTIONS":
        return _public(HttpResponse(status=204))
    ratings = ratings_public(kind=kind, reference=reference)
    if ratings is None:
        return _public(JsonResponse({"error": "not_found", "message": "no such reviewed item"}, status=404))
    return _public(JsonResponse(ratings, json_dumps_params={"ensure_ascii": False}))


urlpatterns = [
    path("reviews/", review_subjects, name="community-reviews"),
    path("reviews/<str:kind>/<str:reference>/", review_subject, name="community-review-subject"),
    path("reviews/<str:kind>/<str:reference>/write/", review_write, name="community-review-write"),
    path("reviews/<str:kind>/<str:reference>/report/", review_report_post, name="community-review-report"),
    path("reviews/<str:kind>/<str:reference>/ratings.json", ratings_json, name="community-ratings-json"),
]
