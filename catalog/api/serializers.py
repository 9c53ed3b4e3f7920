"""Shapes of the catalogue API: what comes in is checked here, what goes out is written here."""

from __future__ import annotations

from rest_framework import serializers

from catalog.models import Gift, Order, OrderEvent, OrderLine
from catalog.selectors import gift_offer_refusal, gift_stock_left
from catalog.services import MAX_ITEMS, MAX_POINTS, MAX_QUANTITY

MAX_ID = 2**63 - 1  # ids are bigints


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

    def validate(self, data):
        if data.get("affordable") and not data.get("member"):
            raise serializers.ValidationError({"affordable": "give the member whose points count"})
        low, high = data.get("points_min"), data.get("points_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"points_max": "is below points_min"})
        return data


class GiftSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tiers = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    stock_left = serializers.SerializerMethodField(help_text="units left; null when unlimited")
    photos = serializers.SerializerMethodField()

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
            "is_featured",
            "in_printed_catalogue",
            "charity_name",
            "donation_amount",
            "donation_currency",
            "service_code",
            "service_quantity",
            "photos",
        ]

    def get_stock_left(self, gift: Gift) -> int | None:
        return gift_stock_left(gift=gift)

    def get_photos(self, gift: Gift) -> list[dict]:
        request = self.context.get("request")
        build = request.build_absolute_uri if request is not None else str
        return [
            {
                "url": build(photo.image_url),
                "thumbnail_url": build(photo.thumbnail_url),
                "alt": photo.alt_text,
            }
            for photo in gift.photos.all()
        ]


class MemberGiftSerializer(GiftSerializer):
    """A gift as one member sees it."""

    points_missing = serializers.IntegerField(read_only=True)
    refusal = serializers.SerializerMethodField(help_text="why this member cannot redeem it, if so")

    class Meta(GiftSerializer.Meta):
        fields = [*GiftSerializer.Meta.fields, "points_missing", "refusal"]

    def get_refusal(self, gift: Gift) -> dict | None:
        refusal = gift_offer_refusal(gift=gift, member=self.context["member"])
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
