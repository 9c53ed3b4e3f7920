"""The backoffice dashboard (`backoffice:dashboard`) and the CSV of each of its figures
(`backoffice:dashboard_csv`), for staff with `backoffice.view_dashboard` (README "Dashboard").

Each figure is one table (`Table`): the page shows it under its chart (Chart.js bundled with
unfold, drawn by unfold's own script from the canvas' `data-value`: no inline script) and the CSV
is the same rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.dashboard_selectors import DashboardFigures, Period, dashboard_figures, month_add
from catalog.selectors import csv_safe
from core.replica import replica_reads
from tenants.selectors import brand_timezone

PERMISSION = "backoffice.view_dashboard"
MAX_MONTHS = 60
COLOURS = ["var(--color-primary-600)", "var(--color-primary-300)", "#f59e0b", "#64748b"]


class PeriodForm(forms.Form):
    """Whole months, the first to the last (the last 12 months unless given)."""

    start = forms.DateField(
        label=gettext_lazy("From"), input_formats=["%Y-%m"], widget=forms.DateInput(attrs={"type": "month"})
    )
    end = forms.DateField(
        label=gettext_lazy("To"), input_formats=["%Y-%m"], widget=forms.DateInput(attrs={"type": "month"})
    )

    def __init__(self, data: Mapping[str, str], *, today: date) -> None:
        self.current = today.replace(day=1)
        default = Period.last_months(today=today)
        if not data.get("start") and not data.get("end"):
            data = {"start": f"{default.start:%Y-%m}", "end": f"{default.end:%Y-%m}"}
        super().__init__(data)

    def clean_end(self) -> date:
        end = self.cleaned_data["end"]
        if end > self.current:
            raise forms.ValidationError(_("The period cannot end after the current month."))
        return end

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                self.add_error("start", _("The period must start before it ends."))
            elif month_add(start, MAX_MONTHS) <= end:
                self.add_error(
                    "start", _("The period can be %(count)d months at most.") % {"count": MAX_MONTHS}
                )
        return cleaned

    @property
    def period(self) -> Period:
        return Period(start=self.cleaned_data["start"], end=self.cleaned_data["end"])


@dataclass(frozen=True)
class Table:
    """One figure: its rows as the CSV and the page's table show them, and its chart's data."""

    key: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: str = ""  # Chart.js data (JSON) for unfold's bar chart component, or none


def _month(month: date) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT")


def _chart(labels: list[str], series: list[tuple[str, list]]) -> str:
    datasets = [
        {"label": name, "data": values, "backgroundColor": COLOURS[index % len(COLOURS)]}
        for index, (name, values) in enumerate(series)
    ]
    return json.dumps({"labels": labels, "datasets": datasets}, default=str)


def breakage_text(figures: DashboardFigures) -> str:
    return "" if figures.breakage is None else f"{figures.breakage * 100:.2f} %"


def dashboard_tables(figures: DashboardFigures) -> list[Table]:
    """Every figure of the dashboard as a table, in the page's order."""
    months = [_month(row.month) for row in figures.points]
    members_new = [count for _month_, count in figures.members_new]
    points_columns = [_("Issued"), _("Redeemed"), _("Expired"), _("Other changes")]
    points_series = [
        [row.issued for row in figures.points],
        [row.redeemed for row in figures.points],
        [row.expired for row in figures.points],
    ]
    breakage = breakage_text(figures)
    tiers: list[tuple[str, int]] = [(tier.name or _("No tier"), tier.members) for tier in figures.tiers]
    return [
        Table(
            key="members",
            title=_("Members"),
            columns=[_("Figure"), _("Members")],
            rows=[
                [_("Members in total"), figures.members_total],
                [_("Active in the last 30 days"), figures.members_active_30],
                [_("Active in the last 90 days"), figures.members_active_90],
                [
                    _("Activity and tiers counted at"),
                    timezone.localtime(figures.counted_at).isoformat(timespec="minutes"),
                ],
            ],
        ),
        Table(
            key="members-new",
            title=_("New members per month"),
            columns=[_("Month"), _("New members")],
            rows=[[f"{month:%Y-%m}", count] for month, count in figures.members_new],
            chart=_chart(months, [(_("New members"), members_new)]),
        ),
        Table(
            key="points",
            title=_("Points per month"),
            columns=[_("Month"), *points_columns],
            rows=[
                [f"{row.month:%Y-%m}", row.issued, row.redeemed, row.expired, row.other]
                for row in figures.points
            ],
            chart=_chart(
                months, [(points_columns[index], series) for index, series in enumerate(points_series)]
            ),
        ),
        Table(
            key="liability",
            title=_("Outstanding points and their value"),
            columns=[_("Figure"), _("Value")],
            rows=[
                [_("Outstanding points (sum of the balances)"), figures.outstanding],
                [_("Value of a point (%(currency)s)") % {"currency": figures.currency}, figures.point_value],
                [_("Liability (%(currency)s)") % {"currency": figures.currency}, figures.liability],
                [_("Breakage over the period (points expired / points issued)"), breakage],
            ],
        ),
        Table(
            key="tiers",
            title=_("Members per tier"),
            columns=[_("Tier"), _("Members")],
            rows=[list(tier) for tier in tiers],
            chart=_chart(
                [name for name, _count in tiers], [(_("Members"), [count for _name, count in tiers])]
            ),
        ),
        Table(
            key="gifts",
            title=_("Top gifts over the period"),
            columns=[_("Gift"), _("Reference"), _("Quantity"), _("Points")],
            rows=[[gift.name, gift.reference, gift.quantity, gift.points] for gift in figures.gifts],
        ),
        Table(
            key="messages",
            title=_("Messages over the period, by channel and outcome"),
            columns=[_("Channel"), _("Outcome"), _("Messages")],
            rows=[[row.channel, row.state, row.messages] for row in figures.messages],
        ),
        Table(
            key="vip",
            title=_("VIP subscriptions now"),
            columns=[_("Figure"), _("Value")],
            rows=[
                [_("Paying subscribers"), figures.vip_subscribers],
                *(
                    [_("MRR (%(currency)s)") % {"currency": currency}, amount]
                    for currency, amount in figures.mrr.items()
                ),
            ],
        ),
    ]


def _allowed(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


@replica_reads()  # figures a few seconds old at most (core.replica)
def dashboard(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    today = timezone.localdate(timezone=brand_timezone())
    form = PeriodForm(request.GET, today=today)
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "form": form,
        "tables": [],
    }
    if not form.is_valid():
        return render(request, "backoffice/dashboard.html", context, status=400)
    figures = dashboard_figures(period=form.period)
    query = f"?start={form.period.start:%Y-%m}&end={form.period.end:%Y-%m}"
    context.update(
        figures=figures,
        breakage=breakage_text(figures),
        tables=[
            (table, reverse("backoffice:dashboard_csv", args=[table.key]) + query)
            for table in dashboard_tables(figures)
        ],
    )
    return render(request, "backoffice/dashboard.html", context)


@replica_reads()
def dashboard_csv(request: HttpRequest, figure: str) -> HttpResponse:
    _allowed(request)
    form = PeriodForm(request.GET, today=timezone.localdate(timezone=brand_timezone()))
    if not form.is_valid():
        errors = "; ".join(
            f"{field}: {' '.join(map(str, messages))}" for field, messages in form.errors.items()
        )
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    tables = {table.key: table for table in dashboard_tables(dashboard_figures(period=form.period))}
    if figure not in tables:
        raise Http404(figure)
    table = tables[figure]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{figure}-{form.period.start:%Y-%m}-{form.period.end:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    writer.writerows([csv_safe(value) for value in row] for row in table.rows)
    return response
