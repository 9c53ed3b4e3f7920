from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import Member


class VipPlan(models.Model):
    """A paid VIP subscription a brand sells, mapped to a product and a price on the brand's Stripe
    account. Stripe's prices cannot change: a new price or interval is a new Stripe price, and the
    subscriptions already running keep theirs (each `Subscription` records what it pays)."""

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    benefits = models.TextField(blank=True, help_text="what a subscriber gets, shown on /vip/")
    trial_days = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True, help_text="offered on /vip/")
    position = models.PositiveSmallIntegerField(default=0)
    stripe_product_id = models.CharField(max_length=64, blank=True)
    stripe_price_id = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True, help_text="last written to Stripe")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("VIP plan")
        verbose_name_plural = _("VIP plans")
        ordering = ["position", "price", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="vip_plan_price_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="vip_plan_currency_iso"),
            models.CheckConstraint(condition=Q(trial_days__lte=730), name="vip_plan_trial_days_bounded"),
        ]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A member's customer on the brand's Stripe account (created at their first checkout)."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="stripe_customer")
    stripe_customer_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stripe_customer_id


class Subscription(models.Model):
    """A member's VIP subscription, as Stripe last said it was. `status` is Stripe's own; which
    states give VIP is `billing.services.vip`'s rule. `state_at` is the time of the Stripe object
    the row reflects: a late event with an older one never overwrites it."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("Incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Cancelled")
        UNPAID = "unpaid", _("Unpaid")
        PAUSED = "paused", _("Paused")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(
        VipPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="subscriptions"
    )
    stripe_subscription_id = models.CharField(max_length=64, unique=True)
    stripe_customer_id = models.CharField(max_length=64)
    stripe_price_id = models.CharField(max_length=64, blank=True)
    # What the subscription pays per interval (its Stripe price), for MRR.
    amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR")
    interval = models.CharField(
        max_length=8, choices=VipPlan.Interval.choices, default=VipPlan.Interval.MONTH
    )
    status = models.CharField(max_length=24, choices=Status.choices)
    cancel_at_period_end = models.BooleanField(default=False)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    state_at = models.DateTimeField(help_text="the time of the Stripe state this row reflects")
    sandbox = models.BooleanField(default=False, help_text="made by the local sandbox checkout")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "current_period_end"], name="subscription_status_end")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="subscription_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return self.stripe_subscription_id


class SubscriptionChange(models.Model):
    """One step of a subscription's history (a status, an amount or a cancellation changed), from
    the Stripe event that brought it: the subscribers' history, MRR and churn are read from here."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(help_text="the time of the Stripe state")
    status_before = models.CharField(max_length=24, blank=True)
    status = models.CharField(max_length=24, choices=Subscription.Status.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=8, choices=VipPlan.Interval.choices)
    cancel_at_period_end = models.BooleanField(default=False)
    stripe_event_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["at"], name="subscription_change_at")]

    def __str__(self) -> str:
        return f"{self.status_before or '-'} -> {self.status}"


class Payment(models.Model):
    """An invoice of a subscription, paid or failed (`invoice.paid`, `invoice.payment_failed`)."""

    class Status(models.TextChoices):
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="payments")
    stripe_invoice_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    # The platform's share (Connect's application fee), as Stripe reported it.
    application_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField()
    stripe_event_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_non_negative")]

    def __str__(self) -> str:
        return self.stripe_invoice_id
