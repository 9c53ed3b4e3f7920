"""Brands (the tenants) and the host names that reach them."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import functions
from django_tenants.models import DomainMixin, TenantMixin


class PlatformPlan(models.Model):
    """What the operator sells brands (README.md, "VIP and billing"): the limits of a brand's
    programme and the platform's share of each VIP payment. Empty limits are no limit."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    members_limit = models.PositiveIntegerField(null=True, blank=True, help_text="empty: no limit")
    messages_per_month = models.PositiveIntegerField(null=True, blank=True, help_text="empty: no limit")
    application_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        help_text="the platform's share of each VIP payment, in percent",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(application_fee_percent__gte=0, application_fee_percent__lte=100),
                name="platform_plan_fee_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Brand(TenantMixin):
    """One loyalty programme, with its own PostgreSQL schema, domain(s), users and data."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=40, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    timezone = models.CharField(max_length=64, default="Europe/Paris")
    language = models.CharField(max_length=8, default="en")
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Figures counted inside the brand's schema by a task, shown to the operator.
    usage = models.JSONField(default=dict, blank=True)
    usage_refreshed_at = models.DateTimeField(null=True, blank=True)
    platform_plan = models.ForeignKey(
        PlatformPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="brands"
    )

    # brand_create clones the template schema itself, inside its own transaction.
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]), name="brand_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="brand_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED


class PlanOverage(models.Model):
    """A brand found over one of its plan's limits in a month: recorded once per brand, month and
    limit by the usage count (`tenants.plans`), shown to the operator (console) and to the brand
    (backoffice). Nothing is refused for it: members are still created and messages still sent."""

    class Limit(models.TextChoices):
        MEMBERS = "members", "Members"
        MESSAGES = "messages", "Messages per month"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="plan_overages")
    # The first day of the month, in the brand's timezone.
    month = models.DateField()
    limit = models.CharField(max_length=16, choices=Limit.choices)
    plan = models.ForeignKey(PlatformPlan, null=True, on_delete=models.SET_NULL, related_name="+")
    allowed = models.PositiveIntegerField(help_text="the plan's limit when the crossing was found")
    used = models.PositiveIntegerField(help_text="what was counted then")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "brand", "limit"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "month", "limit"], name="plan_overage_once_a_month"),
            models.CheckConstraint(
                condition=models.Q(limit__in=["members", "messages"]), name="plan_overage_limit"
            ),
            models.CheckConstraint(condition=models.Q(month__day=1), name="plan_overage_month_start"),
            models.CheckConstraint(
                condition=models.Q(used__gt=models.F("allowed")), name="plan_overage_is_over"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand_id} over {self.limit} in {self.month:%Y-%m}: {self.used} > {self.allowed}"


class Domain(DomainMixin):
    """A host name that serves a brand: `<slug>.<PLATFORM_DOMAIN>` (primary) or a custom domain.

    Only verified domains route to their brand (`tenants.routing`). The platform's own subdomains
    and the operator's are verified when created; a domain a brand adds waits until a DNS TXT record
    or an HTTP answer carries its `token` (`tenants.domains`)."""

    class Method(models.TextChoices):
        PLATFORM = "platform", "Given by the platform"
        DNS = "dns", "DNS TXT record"
        HTTP = "http", "HTTP token"

    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # How it was verified; empty while it is not.
    method = models.CharField(max_length=16, choices=Method.choices, blank=True)
    # What the brand publishes to prove the domain is theirs (random, not a secret once published).
    token = models.CharField(max_length=64, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # What the last check found, for the brand's admin (empty once verified).
    check_result = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-is_primary", "domain"]
        constraints = [
            # Host names are stored as routing reads them: lower case, no trailing dot, IDNA.
            models.CheckConstraint(
                condition=models.Q(domain=functions.Lower("domain")) & ~models.Q(domain__endswith="."),
                name="domain_normalised",
            ),
            models.CheckConstraint(
                condition=models.Q(verified_at__isnull=True, method="")
                | models.Q(verified_at__isnull=False, method__in=["platform", "dns", "http"]),
                name="domain_verified_says_how",
            ),
            models.CheckConstraint(
                condition=models.Q(verified_at__isnull=False) | ~models.Q(token=""),
                name="domain_unverified_has_token",
            ),
            # One primary domain per brand, and only a verified one.
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_primary=True), name="domain_one_primary"
            ),
            models.CheckConstraint(
                condition=models.Q(is_primary=False) | models.Q(verified_at__isnull=False),
                name="domain_primary_is_verified",
            ),
        ]

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class AuthFailure(models.Model):
    """A failed login or API-key attempt, in the public schema so that the operator sees every brand's.

    Written before the password is checked (and deleted when it proves right), so that attempts
    made at the same time count each other. `schema_name` keeps brands apart: the same e-mail in
    two brands is two accounts."""

    class Kind(models.TextChoices):
        LOGIN = "login", "Password login"
        API_KEY = "api_key", "API key"

    schema_name = models.CharField(max_length=63)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The username as typed, lower-cased and stripped; empty for API keys.
    account = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["schema_name", "kind", "account", "at"], name="authfailure_account"),
            models.Index(fields=["schema_name", "kind", "ip", "at"], name="authfailure_ip"),
            # Old failures are purged by date (`core.lockout`).
            models.Index(fields=["at"], name="authfailure_at"),
        ]

    def __str__(self) -> str:
        return f"{self.schema_name}: {self.kind} {self.account or self.ip} at {self.at:%Y-%m-%d %H:%M:%S}"


class Lockout(models.Model):
    """An account or an address refused for a while after too many failures (`core.lockout`)."""

    class Scope(models.TextChoices):
        ACCOUNT = "account", "Account"
        IP = "ip", "Address"

    schema_name = models.CharField(max_length=63)
    kind = models.CharField(max_length=16, choices=AuthFailure.Kind.choices)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    account = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    failures = models.PositiveIntegerField()
    locked_at = models.DateTimeField()
    locked_until = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    # Who lifted it: an operator's username, or "password reset".
    lifted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-locked_at"]
        indexes = [models.Index(fields=["schema_name", "kind", "locked_until"], name="lockout_active")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope="account", account__gt="") | models.Q(scope="ip", ip__isnull=False),
                name="lockout_names_its_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schema_name}: {self.account or self.ip} until {self.locked_until:%Y-%m-%d %H:%M}"


class StripeAccount(models.Model):
    """A brand's connected Stripe account (Connect): its VIP subscriptions are created on it, so the
    money goes to the brand, and a webhook event finds its brand by `account_id`. A sandbox account
    (no Stripe keys) is the local checkout's."""

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="stripe_account")
    account_id = models.CharField(max_length=64, unique=True)
    sandbox = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    # What Stripe still asks of the brand (`requirements.currently_due`), shown in the backoffice.
    requirements_due = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account_id__startswith="acct_"), name="stripe_account_id"
            ),
        ]

    def __str__(self) -> str:
        return self.account_id


class StripeEvent(models.Model):
    """An event Stripe sent to the platform's one webhook endpoint, stored once by its id before it
    is handled (README.md, "VIP and billing"), with its brand when its connected account is known."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=80)
    account_id = models.CharField(max_length=64, blank=True)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(help_text="when Stripe created the event")
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    note = models.CharField(max_length=300, blank=True, help_text="why it was ignored, or what failed")
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["brand", "created"], name="stripe_event_brand_created"),
            models.Index(
                fields=["received_at"], name="stripe_event_waiting", condition=models.Q(state="received")
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(event_id__startswith="evt_"), name="stripe_event_id"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
