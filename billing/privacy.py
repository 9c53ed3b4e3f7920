"""Billing's part of GDPR exports and erasures (`core.privacy`): the member's Stripe customer,
subscriptions and payments. Erasing is refused while a subscription is still billed (cancel it
first: Stripe would go on charging a person the brand no longer knows); then the link to the
Stripe customer is deleted. Subscriptions and payments stay, amounts and dates, for the books."""

from __future__ import annotations

from core.errors import Refused
from core.privacy import Person, privacy_register
from loyalty.models import Member

from .models import Customer, Payment, Subscription
from .selectors_vip import LIVE_STATUSES


def _export(member: Member) -> dict:
    return {
        "stripe_customer": Customer.objects.filter(member=member)
        .values_list("stripe_customer_id", flat=True)
        .first(),
        "subscriptions": list(
            Subscription.objects.filter(member=member)
            .order_by("created_at", "pk")
            .values(
                "plan__name",
                "status",
                "amount",
                "currency",
                "interval",
                "current_period_start",
                "current_period_end",
                "canceled_at",
                "ended_at",
            )
        ),
        "payments": list(
            Payment.objects.filter(member=member)
            .order_by("period_start", "pk")
            .values("status", "amount", "currency", "period_start", "period_end")
        ),
    }


def _erase(member: Member, person: Person) -> None:
    if Subscription.objects.filter(member=member, status__in=LIVE_STATUSES).exists():
        raise Refused(
            "the member's VIP subscription is still billed: cancel it first",
            code="subscription_running",
            field="member",
        )
    Customer.objects.filter(member=member).delete()


privacy_register(app="billing", export=_export, erase=_erase)
