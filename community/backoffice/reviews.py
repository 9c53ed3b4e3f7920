"""The backoffice's review trends (`community-bo:review_trends`, README "Community > Reviews"): the
average rating and the number of published reviews per month over the last 12 or 24 months, for
every reviewed item of a kind together and the most reviewed ones (or one item chosen), drawn as
the dashboard draws its charts (unfold's Chart.js from the canvas' `data-value`: no inline script),
with the same figures as a table and a CSV (every item, one row per item and month). Staff with
`community.view_review`.

A review counts in the month it was written (`created_at`, the brand's timezone); only published
ones count, as on the site."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DateField, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.widgets import UnfoldAdminSelectWidget

from backoffice.dashboard import COLOURS
from backoffice.dashboard_selectors import Period, month_add, month_start_at
from catalog.selectors import csv_safe
from community.models import ModerationState, Review, Subject, SubjectKind
from tenants.selectors import brand_timezone

PERMISSION = "community.view_review"
MONTHS_CHOICES = [("12", gettext_lazy("12 months")), ("24", gettext_lazy("24 months"))]
# The most reviewed items drawn beside the whole kind when no item is chosen.
TOP_SUBJECTS = 3


class TrendsForm(forms.Form):
    months = forms.TypedChoiceField(
        label=gettext_lazy("Over the last"),
        choices=MONTHS_CHOICES,
        coerce=int,
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", gettext_lazy("All")), *SubjectKind.choices],
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    subject = forms.ModelChoiceField(
        label=gettext_lazy("Reviewed item"),
        queryset=Subject.objects.order_by("name", "pk"),
        required=False,
        empty_label=gettext_lazy("The most reviewed"),
        widget=UnfoldAdminSelectWidget,
    )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        subject, kind = cleaned.get("subject"), cleaned.get("kind")
        if subject is not None and kind and subject.kind != kind:
            self.add_error("subject", _("This item is not of the kind chosen."))
        return cleaned


@dataclass
class Series:
    """One line of the chart: reviews and the sum of their ratings per month."""

    label: str
    reference: str = ""
    kind: str = ""
    counts: dict[date, int] = field(default_factory=dict)
    totals: dict[date, int] = field(default_factory=dict)

    def add(self, month: date, count: int, total: int) -> None:
        self.counts[month] = self.counts.get(month, 0) + count
        self.totals[month] = self.totals.get(month, 0) + total

    def average(self, month: date) -> Decimal | None:
        count = self.counts.get(month, 0)
        if not count:
            return None
        return (Decimal(self.totals[month]) / count).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def count(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Trends:
    months: list[date]
    whole: Series  # every item of the kind (or the item chosen)
    subjects: list[Series]  # every item with reviews over the period, most reviewed first


def review_trends(*, period: Period, kind: str = "", subject: Subject | None = None) -> Trends:
    """The published reviews of `period` per month: all of `kind` (every kind when empty) or of
    `subject`, and per item."""
    reviews = Review.objects.filter(
        state=ModerationState.PUBLISHED,
        created_at__gte=month_start_at(period.start),
        created_at__lt=month_start_at(month_add(period.end, 1)),
    )
    if subject is not None:
        reviews = reviews.filter(subject=subject)
    elif kind:
        reviews = reviews.filter(subject__kind=kind)
    rows = (
        reviews.annotate(month=TruncMonth("created_at", tzinfo=brand_timezone(), output_field=DateField()))
        .values("month", "subject_id")
        .annotate(count=Count("pk"), total=Sum("rating"))
        .order_by()
    )
    whole_label = subject.name if subject else (SubjectKind(kind).label if kind else _("All reviewed items"))
    whole = Series(label=str(whole_label))
    per_subject: dict[int, Series] = defaultdict(lambda: Series(label=""))
    for row in rows:
        whole.add(row["month"], row["count"], row["total"])
        per_subject[row["subject_id"]].add(row["month"], row["count"], row["total"])
    for item in Subject.objects.filter(pk__in=list(per_subject)):
        series = per_subject[item.pk]
        series.label, series.reference, series.kind = item.name, item.reference, item.kind
    subjects = sorted(per_subject.values(), key=lambda series: (-series.count, series.label))
    return Trends(months=period.months, whole=whole, subjects=subjects)


def _drawn(trends: Trends, *, subject: Subject | None) -> list[Series]:
    return [trends.whole] if subject is not None else [trends.whole, *trends.subjects[:TOP_SUBJECTS]]


# The averages' chart: unfold's defaults, with the legend (several lines) and the 1-5 scale.
AVERAGE_OPTIONS = json.dumps(
    {
        "animation": False,
        "responsive": True,
        "maintainAspectRatio": False,
        "spanGaps": True,
        "datasets": {"line": {"borderWidth": 2, "pointRadius": 3}},
        "plugins": {
            "legend": {
                "display": True,
                "align": "end",
                "position": "top",
                "labels": {"boxHeight": 5, "boxWidth": 5, "usePointStyle": True, "pointStyle": "circle"},
            }
        },
        "scales": {"y": {"min": 1, "max": 5, "ticks": {"stepSize": 1}}},
    }
)


def _charts(trends: Trends, drawn: list[Series]) -> tuple[str, str]:
    """Chart.js data of the averages (one line per series drawn) and of the whole's counts (bars),
    for unfold's chart components."""
    labels = [date_format(month, "YEAR_MONTH_FORMAT") for month in trends.months]
    averages = [
        {
            "label": series.label,
            "data": [series.average(month) for month in trends.months],
            "borderColor": COLOURS[index % len(COLOURS)],
            "backgroundColor": COLOURS[index % len(COLOURS)],
        }
        for index, series in enumerate(drawn)
    ]
    counts = [
        {
            "label": _("Reviews"),
            "data": [trends.whole.counts.get(month, 0) for month in trends.months],
            "backgroundColor": COLOURS[0],
        }
    ]
    return (
        json.dumps({"labels": labels, "datasets": averages}, default=str),
        json.dumps({"labels": labels, "datasets": counts}, default=str),
    )


def _allowed(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def _form(request: HttpRequest) -> TrendsForm:
    return TrendsForm(request.GET or None)


def _asked(form: TrendsForm) -> tuple[Period, str, Subject | None]:
    data = form.cleaned_data if form.is_bound else {}
    today = timezone.localdate(timezone=brand_timezone())
    period = Period.last_months(count=data.get("months") or 12, today=today)
    return period, data.get("kind") or "", data.get("subject")


def review_trends_view(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    form = _form(request)
    context = {**admin.site.each_context(request), "title": _("Review trends"), "form": form}
    if form.is_bound and not form.is_valid():
        return TemplateResponse(request, "community/backoffice/reviews/trends.html", context, status=400)
    period, kind, subject = _asked(form)
    trends = review_trends(period=period, kind=kind, subject=subject)
    drawn = _drawn(trends, subject=subject)
    averages_chart, counts_chart = _charts(trends, drawn)
    rows = [
        [month, *[(series.counts.get(month, 0), series.average(month)) for series in drawn]]
        for month in trends.months
    ]
    context.update(
        trends=trends,
        drawn=drawn,
        rows=rows,
        averages_chart=averages_chart,
        counts_chart=counts_chart,
        average_options=AVERAGE_OPTIONS,
        csv_url=f"{reverse('community-bo:review_trends_csv')}?{request.GET.urlencode()}",
    )
    return TemplateResponse(request, "community/backoffice/reviews/trends.html", context)


def review_trends_csv(request: HttpRequest) -> HttpResponse:
    """Every item with reviews over the period, one row per item and month it has reviews in."""
    _allowed(request)
    form = _form(request)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(map(str, texts))}" for name, texts in form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    period, kind, subject = _asked(form)
    trends = review_trends(period=period, kind=kind, subject=subject)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"review-trends-{period.start:%Y-%m}-{period.end:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow([_("Month"), _("Kind"), _("Reference"), _("Reviewed item"), _("Reviews"), _("Average")])
    for series in trends.subjects:
        for month in trends.months:
            if series.counts.get(month):
                cells = [f"{month:%Y-%m}", series.kind, series.reference, series.label]
                writer.writerow(
                    [csv_safe(cell) for cell in [*cells, series.counts[month], series.average(month)]]
                )
    return response


urlpatterns = [
    path("reviews/trends/", review_trends_view, name="review_trends"),
    path("reviews/trends.csv", review_trends_csv, name="review_trends_csv"),
]
