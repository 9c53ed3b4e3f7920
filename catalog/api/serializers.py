"""Shapes of the catalogue API: what comes in is checked here, what goes out is written here."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Category, Gift, GiftPhoto, Order, OrderEvent, OrderLine
from catalog.selectors import gift_offer_refusal, gift_stock_left
from catalog.services import (
    MAX_ITEMS,
    MAX_POINTS,
    MAX_QUANTITY,
    PHOTO_MAX_BYTES,
    PHOTO_MAX_SIDE,
    PHOTO_MIN_SIDE,
)
from loyalty.models import Tier

MAX_ID = 2**63 - 1  # ids are bigints


GIFT_STATES = ["active", "inactive", "archived"]


class GiftFilterSerializer(serializers.Serializer):
    category = serializers.SlugField(required=False)
    kind = serializers.ChoiceField(choices=Gift.Kind.choices, required=False)
    points_min = serializers.IntegerField(min_value=0, max_value=MAX_POINTS, required=False)
    points_max = serializers.IntegerField(min_value=0, max_value=MAX_POINTS, required=False)
    search = serializers.CharField(required=False, max_length=100)
    featured = serializers.BooleanField(required=False, allow_null=True, default=None)
    printed = serializers.BooleanField(required=False, allow_null=True, default=None)
    member = serializers.CharField(required=False, max_length=64, help_text="a member's external id")
    affordable = serializers.BooleanField(required=False, default=False, help_text="needs `member`")
    state = serializers.ChoiceField(
        choices=["available", *GIFT_STATES, "all"],
        required=False,
        default="available",
        help_text="available (default): what members may redeem now; active, inactive, archived, "
        "or all the brand's gifts",
    )

    def validate(self, data):
        if data.get("affordable") and not data.get("member"):
            raise serializers.ValidationError({"affordable": "give the member whose points count"})
        low, high = data.get("points_min"), data.get("points_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"points_max": "is below points_min"})
        return data


class GiftSerializer(serializers.ModelSerializer):
    """A gift as its brand sees it, whatever its state (`GET /gifts/{id}` reads archived ones too)."""

    category = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    tiers = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    space = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="a club space's slug: only the members who may enter it redeem the gift (set on the "
        "space's backoffice page); null: none",
    )
    stock_left = serializers.SerializerMethodField(help_text="units left; null when unlimited")
    photos = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()

    class Meta:
        model = Gift
        fields = [
            "id",
            "reference",
            "name",
            "description",
            "kind",
            "category",
            "points_price",
            "retail_value",
            "retail_currency",
            "stock_left",
            "limit_per_member",
            "available_from",
            "available_until",
            "tiers",
            "vip_only",
            "space",
            "is_featured",
            "in_printed_catalogue",
            "charity_name",
            "donation_amount",
            "donation_currency",
            "service_code",
            "service_quantity",
            "photos",
            "state",
            "is_active",
            "archived_at",
            "stock",
            "position",
            "created_at",
            "updated_at",
        ]

    def get_stock_left(self, gift: Gift) -> int | None:
        return gift_stock_left(gift=gift)

    @extend_schema_field(
        serializers.ChoiceField(
            choices=GIFT_STATES,
            help_text="active (shown and redeemable within its availability window), inactive "
            "(hidden for now), archived (withdrawn for good: `DELETE`)",
        )
    )
    def get_state(self, gift: Gift) -> str:
        if gift.archived_at is not None:
            return "archived"
        return "active" if gift.is_active else "inactive"

    def get_photos(self, gift: Gift) -> list[dict]:
        request = self.context.get("request")
        build = request.build_absolute_uri if request is not None else str
        return [
            {
                "id": photo.pk,
                "url": build(photo.image_url),
                "thumbnail_url": build(photo.thumbnail_url),
                "alt": photo.alt_text,
            }
            for photo in gift.photos.all()
        ]


class MemberGiftSerializer(GiftSerializer):
    """A gift as one member sees it; without a member (`member` is None in the context), the same
    fields, `points_missing` and `refusal` null, so that the list has one shape."""

    points_missing = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="the points the member lacks, 0 if none; null without `member`",
    )
    refusal = serializers.SerializerMethodField(
        help_text="why this member cannot redeem it, if so; null without `member`"
    )

    class Meta(GiftSerializer.Meta):
        fields = [*GiftSerializer.Meta.fields, "points_missing", "refusal"]

    def get_refusal(self, gift: Gift) -> dict | None:
        member = self.context["member"]
        if member is None:
            return None
        refusal = gift_offer_refusal(gift=gift, member=member)
        return {"code": refusal.code, "message": refusal.message} if refusal else None


class RedeemItemSerializer(serializers.Serializer):
    gift_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)


class ShippingAddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    line1 = serializers.CharField(max_length=160)
    line2 = serializers.CharField(max_length=160, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=16)
    city = serializers.CharField(max_length=80)
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", error_messages={"invalid": "an ISO 3166 two-letter code"}
    )
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class RedemptionRequestSerializer(serializers.Serializer):
    items = RedeemItemSerializer(many=True, allow_empty=False, max_length=MAX_ITEMS)
    shipping_address = ShippingAddressSerializer(required=False, allow_null=True, default=None)


class OrderStatusRequestSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices)
    tracking_ref = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class OrderLineSerializer(serializers.ModelSerializer):
    gift_id = serializers.IntegerField(read_only=True)
    codes = serializers.SerializerMethodField(help_text="voucher codes handed out")

    class Meta:
        model = OrderLine
        fields = [
            "gift_id",
            "gift_reference",
            "gift_name",
            "kind",
            "quantity",
            "points_each",
            "points_total",
            "amount",
            "currency",
            "charity_name",
            "service_code",
            "service_quantity",
            "codes",
        ]

    def get_codes(self, line: OrderLine) -> list[str]:
        return [code.code for code in line.codes.all()]


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "created_at", "actor", "note", "tracking_ref"]


class OrderSerializer(serializers.ModelSerializer):
    member_external_id = serializers.CharField(source="member.external_id", read_only=True)
    member_balance = serializers.IntegerField(source="member.balance", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)
    shipping_address = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "status",
            "member_external_id",
            "member_balance",
            "total_points",
            "placed_at",
            "tracking_ref",
            "shipping_address",
            "lines",
            "events",
        ]

    def get_shipping_address(self, order: Order) -> dict | None:
        if not order.ship_line1:
            return None
        return {
            "name": order.ship_name,
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "postal_code": order.ship_postal_code,
            "city": order.ship_city,
            "country": order.ship_country,
            "phone": order.ship_phone,
        }


# --- what the brand's systems write: gifts, categories, photos, voucher codes ---------------------


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "position"]
        read_only_fields = ["id"]


class CategoryWriteSerializer(serializers.Serializer):
    """The JSON types of a category; `catalog.services.category_validate` checks the rest."""

    name = serializers.CharField(help_text="at most 120 characters")
    slug = serializers.CharField(help_text="letters, digits, dashes, underscores; unique; at most 60")
    position = serializers.IntegerField(required=False, help_text="lower comes first")


def _text(help_text: str = "", **kwargs) -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
        help_text=help_text,
        **kwargs,
    )


def _number(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, help_text=help_text)


def _amount(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, help_text=help_text
    )


def _flag(help_text: str) -> serializers.BooleanField:
    return serializers.BooleanField(required=False, help_text=help_text)


class GiftWriteSerializer(serializers.Serializer):
    """A gift as the brand's systems send it: the JSON types here, every rule (ranges, what each kind
    needs, unique reference) in `catalog.services.gift_validate`, as for the backoffice form. POST
    and PUT need `reference`, `name` and `points_price`; PATCH takes any of the fields."""

    reference = serializers.CharField(
        help_text="unique, SKU-like: letters, digits, `.`, `-`, `_`; at most 64"
    )
    name = serializers.CharField(help_text="at most 160 characters")
    points_price = serializers.IntegerField(help_text="the price in points, at least 1")
    description = _text()
    category = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Category.objects.all(),
        required=False,
        allow_null=True,
        help_text="a category's slug (`GET /gift-categories`), or null",
    )
    kind = serializers.ChoiceField(
        choices=Gift.Kind.choices,
        required=False,
        help_text="physical (shipped: redemptions need an address), voucher (a code of its pool per "
        "unit: upload them to `/gifts/{id}/vouchers`), donation (needs charity_name, donation_amount, "
        "donation_currency), service_credit (needs service_code, service_quantity; pushed to the "
        "brand's system), conversion (a voucher worth the points at the programme's point value). "
        "Default physical; it cannot change once the gift has orders or codes",
    )
    retail_value = _amount("what the gift is worth, with retail_currency; or null")
    retail_currency = _text("ISO 4217, with retail_value")
    stock = _number("units left; null: unlimited (voucher gifts: always null, the pool is the stock)")
    limit_per_member = _number("at most this many per member (orders not cancelled); null: no limit")
    available_from = serializers.DateTimeField(required=False, allow_null=True, help_text="or null")
    available_until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="after available_from, or null"
    )
    tiers = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Tier.objects.all(),
        many=True,
        required=False,
        help_text="tier codes: if any, only members of these tiers may redeem it",
    )
    vip_only = _flag("only VIP members may redeem it")
    is_active = _flag("shown and redeemable (default true); an archived gift stays inactive")
    is_featured = _flag("in the featured selection")
    in_printed_catalogue = _flag("in the printed selection")
    position = _number("order within the category, lower first")
    charity_name = _text("donations: who receives it")
    donation_amount = _amount("donations: the amount given per unit, more than 0")
    donation_currency = _text("donations: ISO 4217")
    service_code = _text("service credits: what the brand's system credits")
    service_quantity = _number("service credits: how much per unit (e.g. 60 minutes), at least 1")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - GIFT_READ_ONLY)
            if unknown:
                raise serializers.ValidationError({name: ["is not a gift field"] for name in unknown})
        return super().to_internal_value(data)


# What a client may send back as it read it (`GET` then `PUT`): ignored, not refused.
GIFT_READ_ONLY = {"id", "stock_left", "photos", "state", "archived_at", "created_at", "updated_at", "space"}


class GiftPhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="the photo, served on the brand's host")
    thumbnail_url = serializers.SerializerMethodField(help_text="a JPEG of at most 480x480")

    class Meta:
        model = GiftPhoto
        fields = ["id", "url", "thumbnail_url", "alt_text", "width", "height", "position"]

    def get_url(self, photo: GiftPhoto) -> str:
        return self.context["request"].build_absolute_uri(photo.image_url)

    def get_thumbnail_url(self, photo: GiftPhoto) -> str:
        return self.context["request"].build_absolute_uri(photo.thumbnail_url)


class GiftPhotoUploadSerializer(serializers.Serializer):
    """`multipart/form-data`: the image and what to show with it."""

    image = serializers.FileField(
        help_text=f"JPEG, PNG or WebP; at most {PHOTO_MAX_BYTES // 1024 // 1024} MB; each side "
        f"{PHOTO_MIN_SIDE} to {PHOTO_MAX_SIDE} pixels"
    )
    alt_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=160)
    position = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="default: after the other photos"
    )


class VoucherCodesAddedSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="codes added to the pool")
    unused = serializers.IntegerField(help_text="unused codes in the pool now: the gift's stock")
