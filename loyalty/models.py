"""Loyalty programme data, in each brand's schema: members, the points ledger, activity events,
earning rules, tiers, badges, segments (API keys are core's: core.models).

The ledger invariants (README.md, Ledger) are enforced here as much as the database allows: entries are
append-only (a trigger refuses UPDATE and DELETE), a member's cached balance cannot go below
their overdraft limit (0 unless the programme allows it), lots never hold more than they earned.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.limits import IDEMPOTENCY_KEY_MAX_LENGTH
from loyalty.search_keys import member_search_indexes


def is_set(field: str) -> Q:
    """Condition of a partial index on a mostly NULL column: only the rows where it is set."""
    return Q(**{f"{field}__isnull": False})


PHONE_E164 = RegexValidator(r"^\+[1-9]\d{6,14}$", "Phone numbers are in E.164 form, such as +33612345678.")
SIRET = RegexValidator(r"^\d{14}$", "A SIRET has 14 digits.")


def site_languages_default() -> list[str]:
    """Every language of the platform (settings.LANGUAGES)."""
    return [code for code, _name in settings.LANGUAGES]


class ProgrammeSettings(models.Model):
    """The brand's programme settings: one row per schema (id 1)."""

    class Expiry(models.TextChoices):
        NEVER = "never", _("Never")
        DAYS = "days", _("N days after earning")
        END_OF_MONTH = "end_of_month", _("End of the month after earning")
        END_OF_YEAR = "end_of_year", _("End of the year after earning")

    class TierMetric(models.TextChoices):
        POINTS_EARNED = "points_earned", _("Points earned")
        AMOUNT_SPENT = "amount_spent", _("Amount spent")
        EVENT_COUNT = "event_count", _("Count of an event type")

    class TierWindow(models.TextChoices):
        ROLLING_MONTHS = "rolling_months", _("Rolling N months")
        CALENDAR_YEAR = "calendar_year", _("Calendar year")
        LIFETIME = "lifetime", _("Lifetime")

    class Downgrade(models.TextChoices):
        IMMEDIATE = "immediate", _("Immediately")
        GRACE = "grace", _("After a grace period")

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    programme_name = models.CharField(max_length=120, default="Rewards")
    # Point value: `points_per_unit` points are worth `unit_value` in `currency` (100 points = 5 EUR).
    points_per_unit = models.PositiveIntegerField(default=100, validators=[MinValueValidator(1)])
    unit_value = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("5.00"))
    currency = models.CharField(max_length=3, default="EUR")
    expiry_policy = models.CharField(max_length=16, choices=Expiry.choices, default=Expiry.NEVER)
    expiry_days = models.PositiveIntegerField(null=True, blank=True)
    pending_days = models.PositiveIntegerField(default=0, help_text="days before earned points are spendable")
    overdraft_limit = models.PositiveIntegerField(
        default=0, help_text="how far below zero a balance may go (0: never below zero)"
    )
    auto_create_members = models.BooleanField(
        default=False, help_text="events for an unknown member create the member"
    )
    activation_code_days = models.PositiveIntegerField(
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="days an activation code (a reseller's launch letter) stays valid once issued",
    )
    tier_metric = models.CharField(
        max_length=16, choices=TierMetric.choices, default=TierMetric.POINTS_EARNED
    )
    tier_metric_event_type = models.CharField(max_length=64, blank=True)
    tier_window = models.CharField(max_length=16, choices=TierWindow.choices, default=TierWindow.LIFETIME)
    tier_window_months = models.PositiveIntegerField(default=12)
    tier_downgrade = models.CharField(max_length=16, choices=Downgrade.choices, default=Downgrade.IMMEDIATE)
    tier_grace_days = models.PositiveIntegerField(default=0)
    signup_open = models.BooleanField(
        default=True,
        help_text="customers may join on the member site (off: by invitation only, as B2B brands do)",
    )
    # The member site's languages (README.md, Languages), among the platform's (settings.LANGUAGES),
    # and the one shown when neither the member nor the browser asks for one of them.
    site_languages = ArrayField(
        models.CharField(max_length=8, choices=settings.LANGUAGES),
        default=site_languages_default,
        help_text="the languages of the member site, such as en,fr",
    )
    default_language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
        help_text="shown unless the member or their browser asks for another site language",
    )
    # VIP by spend: at least this amount spent over the last `vip_spend_months` (empty: no such rule).
    vip_spend_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="members who spent at least this over the window are VIP (empty: no such rule)",
    )
    vip_spend_months = models.PositiveSmallIntegerField(
        default=12, help_text="the window of the VIP spend rule"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "programme settings"
        verbose_name_plural = "programme settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="programme_settings_singleton"),
            models.CheckConstraint(condition=Q(unit_value__gt=0), name="programme_unit_value_positive"),
            models.CheckConstraint(
                condition=~Q(expiry_policy="days") | Q(expiry_days__gte=1), name="programme_expiry_days_set"
            ),
            models.CheckConstraint(
                condition=Q(points_per_unit__gte=1), name="programme_points_per_unit_positive"
            ),
            models.CheckConstraint(
                condition=Q(activation_code_days__gte=1), name="programme_activation_code_days_positive"
            ),
            models.CheckConstraint(
                condition=~Q(tier_metric="event_count") | ~Q(tier_metric_event_type=""),
                name="programme_tier_event_type_set",
            ),
            models.CheckConstraint(
                condition=~Q(tier_window="rolling_months") | Q(tier_window_months__gte=1),
                name="programme_tier_window_months_set",
            ),
            models.CheckConstraint(
                condition=Q(site_languages__contains=[F("default_language")]),
                name="programme_default_language_offered",
            ),
            models.CheckConstraint(
                condition=Q(vip_spend_amount__isnull=True)
                | Q(vip_spend_amount__gt=0, vip_spend_months__gte=1),
                name="programme_vip_spend_rule",
            ),
        ]

    def __str__(self) -> str:
        return self.programme_name


def member_language_default() -> str:
    """A new member speaks the site's default language (README.md, Languages) until they choose one;
    members are created in their brand's schema, where the settings row always exists."""
    default = ProgrammeSettings.objects.values_list("default_language", flat=True).first()
    return default or settings.LANGUAGE_CODE


class ProgrammeRevision(models.Model):
    """One row, whose `revision` database triggers move on every committed change of what recording
    events reads (settings, event types, rules but their budget counter, tiers, badges), to a
    number never used before (a sequence): processes keep the compiled programme and reload it only
    when the number moved, whoever changed it (forms, the API, a queryset update, plain SQL)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    revision = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="programme_revision_single_row")]

    def __str__(self) -> str:
        return f"programme revision {self.revision}"


class Tier(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        help_text="reached when the qualification metric is at least this (above it, when not included)",
    )
    threshold_inclusive = models.BooleanField(
        default=True,
        help_text=(
            "whether a metric equal to the threshold reaches the tier ('at least 1,000'), "
            "or must be above it ('over 1,000')"
        ),
    )
    earn_multiplier = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1.00"))
    benefits = models.TextField(blank=True)
    grants_vip = models.BooleanField(default=False, help_text="its members are VIP")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(fields=["threshold"], name="tier_threshold_unique"),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="tier_threshold_non_negative"),
            models.CheckConstraint(condition=Q(earn_multiplier__gt=0), name="tier_multiplier_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        RESELLER = "reseller", _("B2B reseller")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        ANONYMISED = "anonymised", _("Anonymised")

    external_id = models.CharField(max_length=64, unique=True, help_text="the brand's own customer id")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CUSTOMER)
    company_name = models.CharField(max_length=160, blank=True)
    siret = models.CharField(max_length=14, blank=True, validators=[SIRET])
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[PHONE_E164])
    address_line1 = models.CharField(max_length=160, blank=True)
    address_line2 = models.CharField(max_length=160, blank=True)
    postal_code = models.CharField(max_length=16, blank=True)
    city = models.CharField(max_length=80, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code")
    language = models.CharField(max_length=8, default=member_language_default)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="portfolio"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="member"
    )
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    tier_floor = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="a staff-set tier below which the member never goes",
    )
    tier_since = models.DateTimeField(null=True, blank=True)
    tier_below_since = models.DateTimeField(
        null=True, blank=True, help_text="when the member first qualified below their tier (grace period)"
    )

    class VipSource(models.TextChoices):
        NONE = "", _("Not VIP")
        SUBSCRIPTION = "subscription", _("Paid subscription")
        TIER = "tier", _("Tier")
        SPEND = "spend", _("Spend")
        MANUAL = "manual", _("Granted by staff")

    is_vip = models.BooleanField(default=False)
    # Why the member is VIP and since when (README.md, "VIP and billing"): `billing.services.vip`.
    vip_source = models.CharField(max_length=16, choices=VipSource.choices, default="", blank=True)
    vip_since = models.DateTimeField(null=True, blank=True)
    balance = models.IntegerField(default=0, help_text="cached: always the sum of the ledger entries")
    overdraft_limit = models.PositiveIntegerField(default=0)
    points_owed = models.PositiveIntegerField(
        default=0, help_text="points debited beyond the member's lots (overdraft); repaid by the next credits"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    joined_at = models.DateTimeField()
    last_activity_at = models.DateTimeField(null=True, blank=True)
    email_verified_at = models.DateTimeField(
        null=True, blank=True, help_text="when the member proved on the site that the e-mail is theirs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]
        permissions = [("adjust_points", "Can adjust a member's points (with a reason)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=-F("overdraft_limit")), name="member_balance_not_below_overdraft"
            ),
            models.CheckConstraint(
                condition=Q(kind="customer") | ~Q(company_name=""), name="member_reseller_has_company"
            ),
            # VIP always with its source and date (`billing.services.vip` writes the three at once).
            models.CheckConstraint(
                condition=(Q(is_vip=True, vip_since__isnull=False) & ~Q(vip_source=""))
                | Q(is_vip=False, vip_source="", vip_since__isnull=True),
                name="member_vip_has_source",
            ),
        ]
        # tier and sales_rep are indexed as foreign keys already. The phone: an inbound SMS (STOP)
        # finds its members by the number it came from.
        indexes = [
            models.Index(fields=["last_activity_at"]),
            models.Index(fields=["phone"], name="member_phone", condition=~Q(phone="")),
            # The backoffice's search by the start of a name, e-mail, company, id or phone.
            *member_search_indexes(),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == self.Kind.RESELLER and self.company_name:
            return self.company_name
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.external_id


class MemberAudit(models.Model):
    """A change of a member's standing by staff (block, unblock, anonymise, sales rep), who made it
    and why. `before` and `after` hold the fields changed; an anonymisation names the fields it
    cleared, never their values."""

    class Action(models.TextChoices):
        BLOCK = "block", _("Blocked")
        UNBLOCK = "unblock", _("Unblocked")
        ANONYMISE = "anonymise", _("Anonymised")
        SALES_REP = "sales_rep", _("Sales rep changed")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="audits")
    action = models.CharField(max_length=16, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} of {self.member_id}"


class Consent(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")
        VOICE = "voice", _("Voice calls")
        POST = "post", _("Post")

    # No index of its own: consent_one_per_channel (member, channel) leads with it.
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents", db_index=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    granted = models.BooleanField()
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=40, help_text="how it was given: api, web form, paper, staff...")
    ip_address = models.GenericIPAddressField(null=True, blank=True, help_text="where it was given from")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "channel"], name="consent_one_per_channel")]

    def __str__(self) -> str:
        return f"{self.channel}: {'yes' if self.granted else 'no'}"


class ConsentChange(models.Model):
    """Every change of a member's consent on a channel (`Consent` holds the current one): when,
    how (`source`: api, site, staff...) and from which address."""

    # No index of its own: the index (member, changed_at) leads with it.
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="consent_changes", db_index=False
    )
    channel = models.CharField(max_length=8, choices=Consent.Channel.choices)
    granted = models.BooleanField()
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=40)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["member", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.channel}: {'yes' if self.granted else 'no'} ({self.source})"


class Signup(models.Model):
    """A sign-up on the member site (`loyalty.services.signup`): the login it created, what was
    typed that the login does not hold, when the terms were accepted and from which address, and
    when the e-mail was verified. An e-mail new to the brand gets its member at once; the e-mail of
    an existing member links the login to that member only once verified (`member` is empty until
    then, and the login inactive)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signup")
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="signups"
    )
    phone = models.CharField(max_length=16, blank=True, validators=[PHONE_E164])
    consents = models.JSONField(default=dict, blank=True, help_text="the answer per channel: {channel: bool}")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    terms_accepted_at = models.DateTimeField()
    created_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sign-up of {self.user_id}"


class EventType(models.Model):
    """A kind of activity the brand accepts: built-in ones (purchase, trip...) or its own."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.code


class ActivityEvent(models.Model):
    """Something a member did, as the brand's systems reported it. Stored once per idempotency key,
    with the answer that was given, so a retry returns the same answer and writes nothing."""

    # Every event writes its indexes: the key's unique index (a constraint, without the pattern
    # index `unique=True` adds) and the composite one, which also serves the member's foreign key.
    idempotency_key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="events", db_index=False)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    attributes = models.JSONField(default=dict, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    points_awarded = models.IntegerField(default=0)
    result = models.JSONField(default=dict, blank=True, help_text="the answer given, replayed on retry")
    reversed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["member", "type", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="event_idempotency_key_unique"),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="event_amount_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.idempotency_key}"


class EarningRule(models.Model):
    """A rule is data: trigger, conditions (field/operator/value), award, limits, beneficiary."""

    class Award(models.TextChoices):
        FIXED = "fixed", _("Fixed points")
        PER_AMOUNT = "per_amount", _("Points per currency unit")
        MULTIPLIER = "multiplier", _("Multiplier of what the other rules gave")
        PER_ITEM = "per_item", _("Points per matching item")
        PERCENTAGE = "percentage", _("Sales rep: a percentage of what the member earns")

    class Rounding(models.TextChoices):
        DOWN = "down", _("Down")
        NEAREST = "nearest", _("Nearest")
        UP = "up", _("Up")

    class Period(models.TextChoices):
        DAY = "day", _("Day")
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")
        YEAR = "year", _("Year")

    class Beneficiary(models.TextChoices):
        MEMBER = "member", _("The member")
        SALES_REP = "sales_rep", _("The member's sales rep")

    name = models.CharField(max_length=120)
    event_type = models.CharField(max_length=64, db_index=True)
    conditions = models.JSONField(default=list, blank=True, help_text="list of {field, op, value}")
    item_conditions = models.JSONField(
        default=list, blank=True, help_text="conditions an item must meet (sku, category) for per-item awards"
    )
    award_type = models.CharField(max_length=16, choices=Award.choices, default=Award.FIXED)
    points = models.IntegerField(default=0, help_text="fixed points, or points per item")
    points_per_unit = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    rounding = models.CharField(max_length=8, choices=Rounding.choices, default=Rounding.DOWN)
    multiplier = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1"))
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="a percentage award (sales rep): the percent, 0-100, of the member's points from the "
        "same event, after their multipliers, tier multiplier, rounding and caps (with item conditions: "
        "of the points earned on the matching items)",
    )
    apply_tier_multiplier = models.BooleanField(default=False)
    max_points_per_event = models.PositiveIntegerField(null=True, blank=True)
    limit_period = models.CharField(max_length=8, choices=Period.choices, blank=True)
    limit_points = models.PositiveIntegerField(null=True, blank=True)
    global_budget = models.PositiveIntegerField(null=True, blank=True)
    budget_used = models.PositiveIntegerField(default=0)
    beneficiary = models.CharField(max_length=16, choices=Beneficiary.choices, default=Beneficiary.MEMBER)
    priority = models.IntegerField(default=100, help_text="lower runs first")
    stop_after = models.BooleanField(default=False, help_text="no later rule applies when this one matched")
    is_active = models.BooleanField(default=True)
    active_from = models.DateTimeField(null=True, blank=True)
    active_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(global_budget__isnull=True) | Q(budget_used__lte=F("global_budget")),
                name="rule_budget_not_exceeded",
            ),
            models.CheckConstraint(
                condition=(Q(limit_period="") & Q(limit_points__isnull=True))
                | (~Q(limit_period="") & Q(limit_points__isnull=False)),
                name="rule_limit_period_and_points_together",
            ),
            models.CheckConstraint(
                condition=Q(active_from__isnull=True)
                | Q(active_until__isnull=True)
                | Q(active_until__gt=F("active_from")),
                name="rule_active_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="rule_percent_0_to_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LedgerEntry(models.Model):
    """One change of one balance, with its cause. Never updated, never deleted."""

    class Kind(models.TextChoices):
        EARN = "earn", pgettext_lazy("ledger entry kind", "Earn")
        REDEEM = "redeem", pgettext_lazy("ledger entry kind", "Redeem")
        EXPIRE = "expire", pgettext_lazy("ledger entry kind", "Expire")
        ADJUST = "adjust", pgettext_lazy("ledger entry kind", "Adjust")
        REVERSE = "reverse", pgettext_lazy("ledger entry kind", "Reverse")
        TRANSFER = "transfer", pgettext_lazy("ledger entry kind", "Transfer")

    # Indexes are written on every entry (the hottest insert): foreign keys are indexed by the
    # composite or partial indexes of Meta (mostly NULL columns only where they are set).
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="entries", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    points = models.IntegerField()
    balance_after = models.IntegerField()
    created_at = models.DateTimeField(db_index=True)
    event = models.ForeignKey(
        ActivityEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    rule = models.ForeignKey(
        EarningRule, null=True, blank=True, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    reason = models.TextField(blank=True)
    source = models.CharField(
        max_length=64, blank=True, help_text="what caused it outside the ledger: 'order:42'"
    )
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals", db_index=False
    )
    explanation = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=160, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["member", "created_at"]),
            models.Index(
                fields=["rule", "member", "created_at"],
                name="ledger_rule_member_created",
                condition=is_set("rule"),
            ),
            models.Index(fields=["event"], name="ledger_event", condition=is_set("event")),
            models.Index(fields=["reverses"], name="ledger_reverses", condition=is_set("reverses")),
            models.Index(fields=["staff_user"], name="ledger_staff_user", condition=is_set("staff_user")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                name="ledger_idempotency_key_unique",
                condition=is_set("idempotency_key"),
            ),
            models.CheckConstraint(condition=~Q(points=0), name="ledger_entry_not_zero"),
            models.CheckConstraint(
                condition=~Q(kind="adjust") | ~Q(reason=""), name="ledger_adjust_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["earn"]) | Q(points__gt=0), name="ledger_earn_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["redeem", "expire"]) | Q(points__lt=0), name="ledger_debit_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"


class PointLot(models.Model):
    """Points credited together, spendable from `available_at`, lost at `expires_at`."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="lots")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot")
    points = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    available_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["member", "expires_at"], name="lot_open_by_expiry", condition=Q(remaining__gt=0)
            ),
            models.Index(fields=["expires_at"], name="lot_open_expiry", condition=Q(remaining__gt=0)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__lte=F("points")), name="lot_remaining_within_points"
            ),
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_points_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points} until {self.expires_at or 'never'}"


class LotConsumption(models.Model):
    """Which lots a debit took its points from (so expiry and give-backs are exact)."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="consumptions")
    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="consumptions")
    points = models.PositiveIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="consumption_points_positive")]

    def __str__(self) -> str:
        return f"{self.points} from lot {self.lot_id}"


class TierChange(models.Model):
    class Reason(models.TextChoices):
        QUALIFIED = "qualified", _("Qualified")
        DOWNGRADED = "downgraded", _("Downgraded")
        FLOOR = "floor", _("Staff-set floor")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_changes")
    # Not indexed: only deleting a tier looks them up, and the nightly writes many of these rows.
    from_tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    to_tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    metric_value = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_tier_id} -> {self.to_tier_id} ({self.reason})"


class Badge(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    event_type = models.CharField(max_length=64)
    conditions = models.JSONField(
        default=list, blank=True, help_text="conditions an event must meet to count"
    )
    count_required = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(count_required__gte=1), name="badge_count_positive")
        ]

    def __str__(self) -> str:
        return self.name


class MemberBadge(models.Model):
    # No index of its own: badge_once_per_member (member, badge) leads with it.
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="badges", db_index=False)
    badge = models.ForeignKey(Badge, on_delete=models.CASCADE, related_name="holders")
    awarded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "badge"], name="badge_once_per_member")]

    def __str__(self) -> str:
        return f"{self.badge_id} for {self.member_id}"


class Segment(models.Model):
    """A saved filter over members (structured, see loyalty.selectors.segment_members)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    filters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


def offer_image_path(offer: Offer, filename: str) -> str:
    return f"offers/{filename}"


class Offer(models.Model):
    """A personalised offer: shown once per member, on their next visit to the member site after
    logging in, to the members of `segment` (everyone when it is empty) between its dates."""

    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="offers"
    )
    title = models.CharField(max_length=120)
    text = models.TextField(max_length=2000, blank=True)
    image = models.ImageField(upload_to=offer_image_path, blank=True)
    link = models.URLField(blank=True, help_text="where the offer's button leads (https://...)")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["ends_at", "starts_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="offer_ends_after_start")
        ]

    def __str__(self) -> str:
        return self.title


class OfferSeen(models.Model):
    """An offer shown to a member: never shown to them again."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="seen_by")
    # No index of its own: offer_seen_once (member, offer) leads with it.
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="offers_seen", db_index=False)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "offer"], name="offer_seen_once")]

    def __str__(self) -> str:
        return f"{self.offer_id} seen by {self.member_id}"


class ActivationCode(models.Model):
    """A code that lets one member set their password on the member site (B2B activation, the
    reseller's launch letter): single use, valid until `expires_at`, and only its HMAC is kept
    (`loyalty.services.activation`), so it is never readable again after it is issued. A member
    has at most one code in force (neither used nor revoked): issuing one revokes the others.
    Five wrong postcodes with the code lock it for a while (`locked_until`)."""

    class Source(models.TextChoices):
        API = "api", _("API")
        BACKOFFICE = "backoffice", _("Backoffice")
        MAILING = "mailing", _("Launch mailing")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="activation_codes")
    # HMAC-SHA256 of the normalised code (hex), with a key derived from SECRET_KEY: one unique index
    # finds a typed code, and the row holds nothing a code could be read back from.
    digest = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="wrong postcodes typed with this code since it was last locked"
    )
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                name="activation_code_one_in_force_per_member",
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="activation_code_used_or_revoked",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("issued_at")), name="activation_code_expires_after_issue"
            ),
        ]

    def __str__(self) -> str:
        return f"activation code {self.pk} of member {self.member_id}"


class ActivationAttempt(models.Model):
    """An activation attempt on the member site, kept for the per-address limit (failures from one
    address in a window, whatever the code) and as the code's history."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Code and postcode right")
        UNKNOWN = "unknown", _("No such code")
        WRONG_POSTCODE = "wrong_postcode", _("Wrong postcode")
        CODE_LOCKED = "code_locked", _("Code locked")
        USED = "used", _("Code already used")
        EXPIRED = "expired", _("Code expired")
        REVOKED = "revoked", _("Code revoked")
        MEMBER_BLOCKED = "member_blocked", _("Member blocked")
        IP_LOCKED = "ip_locked", _("Address locked")

    code = models.ForeignKey(
        ActivationCode,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attempts",
        db_index=False,  # activation_attempt_code, on the rows that name one
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        indexes = [
            models.Index(
                fields=["ip", "at"],
                name="activation_attempt_failures",
                condition=~Q(outcome__in=["accepted", "ip_locked"]),
            ),
            models.Index(fields=["code"], name="activation_attempt_code", condition=is_set("code")),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} from {self.ip} at {self.at:%Y-%m-%d %H:%M}"
