"""The gift catalogue and its orders, in each brand's schema.

What the database enforces (so no code path can break it): stock never below zero, prices
positive, a voucher code used by at most one order line, one order per member and idempotency key,
order statuses from the state machine's list, kind-specific fields present for their kind, an
archived gift inactive.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.limits import IDEMPOTENCY_KEY_MAX_LENGTH
from loyalty.models import LedgerEntry, Member, Tier

CURRENCY = RegexValidator(r"^[A-Z]{3}$", "A currency is an ISO 4217 code such as EUR.")
REFERENCE = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$", "A reference has letters, digits, dots, dashes and underscores."
)


class CatalogSettings(models.Model):
    """Per-brand settings of the catalogue: one row per schema (id 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    service_credit_endpoint = models.URLField(
        blank=True,
        help_text="where service-credit order events are POSTed (empty: kept in the development outbox)",
    )
    service_credit_token = models.CharField(
        max_length=200, blank=True, help_text="sent as 'Authorization: Bearer <token>'"
    )

    class Meta:
        verbose_name = verbose_name_plural = "catalogue settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="catalog_settings_singleton")]

    def __str__(self) -> str:
        return "Catalogue settings"


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    position = models.PositiveIntegerField(default=0, help_text="lower comes first")

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Gift(models.Model):
    class Kind(models.TextChoices):
        PHYSICAL = "physical", _("Physical gift (shipped)")
        VOUCHER = "voucher", _("Voucher from a pool of codes")
        DONATION = "donation", _("Donation to a charity")
        SERVICE_CREDIT = "service_credit", _("Service credit (pushed to the brand's system)")
        CONVERSION = "conversion", _("Conversion voucher at the programme's point value")

    reference = models.CharField(
        max_length=64, unique=True, validators=[REFERENCE], help_text="unique, SKU-like: imports match on it"
    )
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    # No index of its own: catalog_gif_categor_acc92b_idx (category, position) leads with it.
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="gifts", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PHYSICAL)
    points_price = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    retail_value = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    retail_currency = models.CharField(max_length=3, blank=True, validators=[CURRENCY])
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="empty: unlimited (voucher gifts: the unused codes are the stock)"
    )
    limit_per_member = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="empty: no limit"
    )
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    tiers = models.ManyToManyField(
        Tier, blank=True, related_name="gifts", help_text="if any: only members of these tiers"
    )
    vip_only = models.BooleanField(default=False, help_text="only VIP members")
    # A club space's perk (README.md, "Club spaces"): set from the space's backoffice page.
    space = models.ForeignKey(
        "clubs.Space",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gifts",
        help_text="if set: only the members who may enter this club space",
    )
    is_active = models.BooleanField(default=True, help_text="shown and redeemable")
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="archived (withdrawn for good): hidden, not redeemable, kept for its orders; "
        "read-only from then on",
    )
    is_featured = models.BooleanField(default=False)
    in_printed_catalogue = models.BooleanField(default=False, help_text="part of the printed selection")
    position = models.PositiveIntegerField(default=0, help_text="order within the category")
    charity_name = models.CharField(max_length=160, blank=True, help_text="donations: who receives it")
    donation_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="donations: amount given per unit"
    )
    donation_currency = models.CharField(max_length=3, blank=True, validators=[CURRENCY])
    service_code = models.CharField(
        max_length=64, blank=True, help_text="service credits: what the brand's system credits"
    )
    service_quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text="service credits: how much per unit (e.g. 60 minutes)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__position", "position", "name", "id"]
        indexes = [
            models.Index(fields=["points_price"]),
            models.Index(fields=["category", "position"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_price__gt=0),
                name="gift_price_positive",
                violation_error_message="A points price is a positive whole number.",
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0),
                name="gift_stock_not_negative",
                violation_error_message="Stock cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(limit_per_member__isnull=True) | Q(limit_per_member__gte=1),
                name="gift_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(retail_value__isnull=True, retail_currency="")
                | Q(retail_value__gte=0, retail_currency__regex=r"^[A-Z]{3}$"),
                name="gift_retail_value_with_currency",
                violation_error_message="A retail value needs its currency (and a currency needs a value).",
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gt=F("available_from")),
                name="gift_window_ordered",
                violation_error_message="The availability window ends after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(archived_at__isnull=True) | Q(is_active=False),
                name="gift_archived_inactive",
                violation_error_message="An archived gift is never active.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="voucher") | Q(stock__isnull=True),
                name="gift_voucher_stock_is_pool",
                violation_error_message="A voucher gift's stock is its pool of codes: leave the stock empty.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="donation")
                | (
                    ~Q(charity_name="") & Q(donation_amount__gt=0) & Q(donation_currency__regex=r"^[A-Z]{3}$")
                ),
                name="gift_donation_complete",
                violation_error_message="A donation needs a charity, a positive amount and its currency.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="service_credit") | (~Q(service_code="") & Q(service_quantity__gte=1)),
                name="gift_service_credit_complete",
                violation_error_message="A service credit needs a service code and a quantity of at least 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.reference})"

    @property
    def is_physical(self) -> bool:
        return self.kind == self.Kind.PHYSICAL


def gift_photo_path(photo: GiftPhoto, filename: str) -> str:
    return f"gifts/{photo.gift_id}/{filename}"


class GiftPhoto(models.Model):
    """A photo and its thumbnail, both in the brand's own media folder."""

    gift = models.ForeignKey(Gift, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=gift_photo_path, width_field="width", height_field="height")
    thumbnail = models.ImageField(upload_to=gift_photo_path, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    alt_text = models.CharField(max_length=160, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.image.name

    @property
    def image_url(self) -> str:
        """The URL the brand's media view serves it at (the brand's host, its own folder)."""
        return self.image.url

    @property
    def thumbnail_url(self) -> str:
        return self.thumbnail.url if self.thumbnail else self.image_url


class Order(models.Model):
    """A redemption: one or more gifts paid for by one ledger debit, then fulfilled."""

    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        CONFIRMED = "confirmed", _("Confirmed")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    # No index of its own: order_idempotency_per_member (member, idempotency_key) leads with it.
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="orders", db_index=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLACED)
    idempotency_key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    request_fingerprint = models.CharField(
        max_length=64, help_text="hash of the request: a reused key with other content is refused"
    )
    total_points = models.PositiveIntegerField()
    debit_entry = models.OneToOneField(
        LedgerEntry, null=True, on_delete=models.PROTECT, related_name="order_paid"
    )
    restore_entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="order_restored"
    )
    ship_name = models.CharField(max_length=160, blank=True)
    ship_line1 = models.CharField(max_length=160, blank=True)
    ship_line2 = models.CharField(max_length=160, blank=True)
    ship_postal_code = models.CharField(max_length=16, blank=True)
    ship_city = models.CharField(max_length=80, blank=True)
    ship_country = models.CharField(max_length=2, blank=True)
    ship_phone = models.CharField(max_length=20, blank=True)
    tracking_ref = models.CharField(max_length=120, blank=True)
    placed_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [models.Index(fields=["member", "placed_at"]), models.Index(fields=["status", "placed_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "idempotency_key"], name="order_idempotency_per_member"
            ),
            models.CheckConstraint(condition=Q(total_points__gt=0), name="order_total_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["placed", "confirmed", "shipped", "delivered", "cancelled"]),
                name="order_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="shipped") | ~Q(tracking_ref=""), name="order_shipped_has_tracking"
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled") | Q(restore_entry__isnull=True),
                name="order_restored_only_when_cancelled",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk}"

    @property
    def shipping_lines(self) -> list[str]:
        city = f"{self.ship_postal_code} {self.ship_city}".strip()
        return [p for p in (self.ship_name, self.ship_line1, self.ship_line2, city, self.ship_country) if p]


class OrderLine(models.Model):
    """One gift of an order, with what was true when it was redeemed (price, name, amounts)."""

    # No index of their own: order_line_gift_once (order, gift) and the index (gift, order) lead with them.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines", db_index=False)
    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, related_name="order_lines", db_index=False)
    kind = models.CharField(max_length=16, choices=Gift.Kind.choices)
    gift_name = models.CharField(max_length=160)
    gift_reference = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    points_each = models.PositiveIntegerField()
    points_total = models.PositiveIntegerField()
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="donations: amount given; conversion vouchers: their value",
    )
    currency = models.CharField(max_length=3, blank=True)
    charity_name = models.CharField(max_length=160, blank=True)
    service_code = models.CharField(max_length=64, blank=True)
    service_quantity = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["gift", "order"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(points_total=F("points_each") * F("quantity")), name="order_line_total_consistent"
            ),
            models.UniqueConstraint(fields=["order", "gift"], name="order_line_gift_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.gift_name}"


class VoucherCode(models.Model):
    """A code of a voucher gift's pool, or one generated for a conversion voucher. Once an order line
    holds it, it is never handed out again (even if that order is cancelled)."""

    # No index of its own: voucher_code_unique_per_gift (gift, code) leads with it.
    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, related_name="codes", db_index=False)
    code = models.CharField(max_length=120)
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="codes"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["gift", "id"], name="voucher_unused_by_gift", condition=Q(order_line__isnull=True)
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["gift", "code"], name="voucher_code_unique_per_gift"),
            models.CheckConstraint(
                condition=Q(order_line__isnull=True, used_at__isnull=True)
                | Q(order_line__isnull=False, used_at__isnull=False),
                name="voucher_used_with_line",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class OrderEvent(models.Model):
    """One change of an order's status: who, when, why. The order's history."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, choices=Order.Status.choices)
    actor = models.CharField(max_length=80, help_text="member, staff:<id>, api:<key prefix>")
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    tracking_ref = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class ServicePush(models.Model):
    """An order event of a service-credit order, to be POSTed to the brand's system: the row exists
    before the request (an outbox), so a crash never loses one and a retry never sends it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (retrying)"
        OUTBOX = "outbox", "Development outbox (no endpoint configured)"

    # No index of its own: service_push_once_per_event (order, action) leads with it.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="service_pushes", db_index=False)
    action = models.CharField(max_length=16, help_text="the order event: placed or cancelled")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    requeue_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="when the outbox sweeper queues a send again if the push is still waiting "
        "(empty: sent, in the development outbox, or given up)",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "action"], name="service_push_once_per_event"),
        ]
        indexes = [
            models.Index(
                fields=["requeue_at"],
                name="service_push_requeue",
                condition=models.Q(requeue_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} {self.action}: {self.status}"
