"""Reads of the brand's VIP subscribers for its systems, under `/api/v1/billing`: the
subscriptions with their state, one with its history and payments, and the MRR and churn of the
last months. Thin: `billing.selectors` reads; Stripe's events are what writes them."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Payment, Subscription, SubscriptionChange
from billing.selectors import MonthFigures, months_figures, subscription_list
from core.api.base import BrandApi, found_or_404
from core.api.pagination import PagedApi
from core.api.schema import error_responses

MONTHS_MAX = 36
NO_SUBSCRIPTION = {404: "no subscription with this id (`error.field`: `subscription_id`)"}
SUBSCRIPTION_ID = OpenApiParameter(
    "subscription_id", int, OpenApiParameter.PATH, description="the subscription's id"
)


class SubscriptionSerializer(serializers.ModelSerializer):
    member = serializers.CharField(source="member.external_id", help_text="the member's external id")
    plan: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="the VIP plan's code, if known"
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "member",
            "plan",
            "status",
            "amount",
            "currency",
            "interval",
            "cancel_at_period_end",
            "current_period_start",
            "current_period_end",
            "trial_end",
            "canceled_at",
            "ended_at",
            "stripe_subscription_id",
            "sandbox",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "Stripe's: trialing, active, past_due, canceled, unpaid, incomplete..."},
            "amount": {"help_text": "what it pays each interval, in `currency`"},
        }


class SubscriptionChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubscriptionChange
        fields = ["at", "status_before", "status", "amount", "currency", "interval", "cancel_at_period_end"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = [
            "stripe_invoice_id",
            "status",
            "amount",
            "currency",
            "application_fee",
            "period_start",
            "period_end",
            "at",
        ]
        read_only_fields = fields
        extra_kwargs = {"application_fee": {"help_text": "the platform's share, as Stripe reported it"}}


class SubscriptionDetailSerializer(SubscriptionSerializer):
    history = SubscriptionChangeSerializer(
        source="changes", many=True, read_only=True, help_text="its states, oldest first"
    )
    payments = PaymentSerializer(many=True, read_only=True, help_text="its invoices, newest first")

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "history", "payments"]
        read_only_fields = fields


class AmountSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="ISO 4217")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="a month's worth")


class MonthSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="the month's first day (the brand's timezone)")
    mrr = AmountSerializer(many=True, help_text="at the month's end (now, this month), per currency")
    paying_at_start = serializers.IntegerField(help_text="subscriptions paying when the month began")
    ended = serializers.IntegerField(help_text="of those, how many ended during the month")
    churn = serializers.DecimalField(
        max_digits=5, decimal_places=4, allow_null=True, help_text="ended / paying_at_start; null when 0 paid"
    )


def _month(figures: MonthFigures) -> dict:
    return {
        "month": figures.month,
        "mrr": [{"currency": currency, "amount": amount} for currency, amount in figures.mrr.items()],
        "paying_at_start": figures.paying_at_start,
        "ended": figures.ended,
        "churn": figures.churn,
    }


class SubscriptionFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Subscription.Status.choices, required=False, help_text="only the subscriptions in this state"
    )


class MonthsFilterSerializer(serializers.Serializer):
    months = serializers.IntegerField(
        min_value=1,
        max_value=MONTHS_MAX,
        required=False,
        default=12,
        help_text="how many months, this one last",
    )


class BillingApi(BrandApi, PagedApi, APIView):
    """The subscriptions' reads, paged."""

    api_scope = "billing"


class SubscriptionListView(BillingApi):
    @extend_schema(
        operation_id="billing_subscriptions_list",
        summary="The VIP subscriptions, newest first",
        description=(
            "The brand's members' VIP subscriptions as Stripe's events left them, paged with `limit` "
            "and `offset`; `status` keeps one of Stripe's states."
        ),
        parameters=[SubscriptionFilterSerializer],
        responses={
            200: SubscriptionSerializer(many=True),
            **error_responses(400, why={400: "a filter is invalid: `error.field` names it"}),
        },
    )
    def get(self, request: Request) -> Response:
        filters = SubscriptionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = subscription_list(status=filters.validated_data.get("status"))
        return self.paginated(request, rows, SubscriptionSerializer)


class SubscriptionDetailView(BillingApi):
    @extend_schema(
        operation_id="billing_subscriptions_retrieve",
        summary="One VIP subscription, with its history and payments",
        description="The subscription, the states it went through (oldest first) and its invoices.",
        parameters=[SUBSCRIPTION_ID],
        responses={200: SubscriptionDetailSerializer, **error_responses(404, why=NO_SUBSCRIPTION)},
    )
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = found_or_404(
            subscription_list().prefetch_related("changes", "payments").filter(pk=subscription_id).first(),
            field="subscription_id",
            message=f"no subscription with id {subscription_id}",
        )
        return Response(SubscriptionDetailSerializer(subscription).data)


class MrrView(BrandApi, APIView):
    api_scope = "billing"

    @extend_schema(
        operation_id="billing_mrr",
        summary="MRR and churn of the last months",
        description=(
            "Per month of the brand (its timezone), oldest first: the monthly recurring revenue at its "
            "end per currency (active and past_due subscriptions; a yearly price counts for a twelfth), "
            "the subscriptions paying at its start, those that ended during it, and the churn."
        ),
        parameters=[MonthsFilterSerializer],
        responses={
            200: MonthSerializer(many=True),
            **error_responses(400, why={400: "`months` is not 1 to 36: `error.field` names it"}),
        },
    )
    def get(self, request: Request) -> Response:
        filters = MonthsFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        figures = months_figures(count=filters.validated_data["months"])
        return Response(MonthSerializer([_month(month) for month in figures], many=True).data)


urlpatterns = [
    path("billing/subscriptions", SubscriptionListView.as_view(), name="api-billing-subscriptions"),
    path(
        "billing/subscriptions/<int:subscription_id>",
        SubscriptionDetailView.as_view(),
        name="api-billing-subscription",
    ),
    path("billing/mrr", MrrView.as_view(), name="api-billing-mrr"),
]
