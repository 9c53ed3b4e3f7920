"""Backoffice: the brand's VIP subscribers as Stripe's events left them (read only: Stripe is where
a subscription changes), each with its history and payments, and the page "MRR and churn" with the
last 12 months drawn as SVG on the server (no script: the pages' policy allows only 'self')."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from billing.models import Payment, Subscription, SubscriptionChange
from billing.selectors import MonthFigures, months_figures
from core.admin_base import ModelAdmin, TabularInline
from core.formats import money_format, number_format

PERMISSION = "billing.view_subscription"
MONTHS = 12

# The chart's drawing box, in SVG user units (it scales to the page's width).
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM, CHART_TOP = 720, 220, 70, 30, 16


class _ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Subscription | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Subscription | None = None) -> bool:
        return False


class SubscriptionChangeInline(_ReadOnlyInline):
    model = SubscriptionChange
    verbose_name = gettext_lazy("change")
    verbose_name_plural = gettext_lazy("history")
    fields = readonly_fields = (
        "at",
        "status_before",
        "status",
        "amount",
        "currency",
        "interval",
        "cancel_at_period_end",
        "stripe_event_id",
    )
    ordering = ["at", "pk"]


class PaymentInline(_ReadOnlyInline):
    model = Payment
    verbose_name_plural = gettext_lazy("payments")
    fields = readonly_fields = (
        "at",
        "status",
        "amount",
        "currency",
        "application_fee",
        "period_start",
        "period_end",
        "stripe_invoice_id",
    )


@admin.register(Subscription)
class SubscriptionAdmin(ModelAdmin):
    change_list_template = "billing/admin/subscription_change_list.html"
    list_display = [
        "subscriber",
        "plan",
        "status",
        "price",
        "current_period_end",
        "cancel_at_period_end",
        "sandbox",
    ]
    list_filter = ["status", "plan", "cancel_at_period_end", "interval", "sandbox"]
    search_fields = [
        "member__email",
        "member__external_id",
        "member__last_name",
        "=stripe_subscription_id",
        "=stripe_customer_id",
    ]
    list_select_related = ["member", "plan"]
    date_hierarchy = "created_at"
    inlines = [SubscriptionChangeInline, PaymentInline]
    fieldsets = [
        (None, {"fields": ["member_link", "plan", "status", "price", "sandbox"]}),
        (
            gettext_lazy("Period"),
            {
                "fields": [
                    "current_period_start",
                    "current_period_end",
                    "trial_end",
                    "cancel_at_period_end",
                    "canceled_at",
                    "ended_at",
                ]
            },
        ),
        (
            gettext_lazy("Stripe"),
            {"fields": ["stripe_subscription_id", "stripe_customer_id", "stripe_price_id", "state_at"]},
        ),
    ]
    readonly_fields = [
        "member_link",
        "plan",
        "status",
        "price",
        "sandbox",
        "current_period_start",
        "current_period_end",
        "trial_end",
        "cancel_at_period_end",
        "canceled_at",
        "ended_at",
        "stripe_subscription_id",
        "stripe_customer_id",
        "stripe_price_id",
        "state_at",
    ]

    @admin.display(description=gettext_lazy("member"), ordering="member__last_name")
    def subscriber(self, subscription: Subscription) -> str:
        member = subscription.member
        return f"{member.first_name} {member.last_name}".strip() or member.email or member.external_id

    @admin.display(description=gettext_lazy("member"))
    def member_link(self, subscription: Subscription) -> str:
        url = reverse("admin:loyalty_member_change", args=[subscription.member_id])
        return format_html('<a href="{}">{}</a>', url, self.subscriber(subscription))

    @admin.display(description=gettext_lazy("price"), ordering="amount")
    def price(self, subscription: Subscription) -> str:
        amount = money_format(subscription.amount, subscription.currency)
        return f"{amount} / {subscription.get_interval_display()}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by Stripe's events only

    def has_change_permission(self, request: HttpRequest, obj: Subscription | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Subscription | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path("mrr/", self.admin_site.admin_view(self.mrr_view), name="billing_mrr"),
            *super().get_urls(),
        ]

    def mrr_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        figures = months_figures(count=MONTHS)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("MRR and churn"),
            "rows": [_row(month) for month in reversed(figures)],
            "charts": [_mrr_chart(figures, currency) for currency in _currencies(figures)],
            "churn_chart": _churn_chart(figures),
        }
        return TemplateResponse(request, "billing/admin/mrr.html", context)


def _currencies(figures: list[MonthFigures]) -> list[str]:
    return sorted({currency for month in figures for currency in month.mrr})


def _percent(share: Decimal | None) -> str:
    """A share as a percentage with one decimal, in the page's language; a dash for none."""
    return "-" if share is None else f"{number_format((share * 100).quantize(Decimal('0.1')))} %"


def _row(month: MonthFigures) -> dict:
    return {
        "month": month.month,
        "mrr": [money_format(amount, currency) for currency, amount in month.mrr.items()],
        "paying_at_start": month.paying_at_start,
        "ended": month.ended,
        "churn": _percent(month.churn),
    }


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    label_x: float


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    top: str
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = CHART_LEFT
    baseline: int = CHART_HEIGHT - CHART_BOTTOM
    chart_top: int = CHART_TOP


def _bars(figures: list[MonthFigures], values: list[Decimal], shown: list[str]) -> tuple[list[Bar], Decimal]:
    """One bar per month, scaled to the largest value (1 when all are zero)."""
    largest = max(values, default=Decimal("0")) or Decimal("1")
    inner = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    step = (CHART_WIDTH - CHART_LEFT - 10) / max(len(values), 1)
    bars = []
    for index, (month, value, text) in enumerate(zip(figures, values, shown, strict=True)):
        height = float(value / largest) * inner
        x = CHART_LEFT + index * step + step * 0.15
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(CHART_HEIGHT - CHART_BOTTOM - height, 1),
                width=round(step * 0.7, 1),
                height=round(height, 1),
                label=f"{month.month:%m/%y}",
                value=text,
                label_x=round(x + step * 0.35, 1),
            )
        )
    return bars, largest


def _mrr_chart(figures: list[MonthFigures], currency: str) -> Chart:
    values = [month.mrr.get(currency, Decimal("0")) for month in figures]
    bars, largest = _bars(figures, values, [money_format(value, currency) for value in values])
    return Chart(
        title=gettext("MRR in %(currency)s") % {"currency": currency},
        bars=bars,
        top=money_format(largest, currency),
    )


def _churn_chart(figures: list[MonthFigures]) -> Chart:
    values = [(month.churn or Decimal("0")) * 100 for month in figures]
    shown = [_percent(month.churn) for month in figures]
    bars, largest = _bars(figures, values, shown)
    return Chart(title=gettext("Churn"), bars=bars, top=_percent(largest / 100))
