"""Shapes of the brand API: input checks (types, sizes, formats) before the services, and the
documented output. Business rules stay in the services; these only refuse malformed input."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from core.api.schema import ErrorSerializer
from loyalty import engine
from loyalty.api.parsing import BATCH_MAX, OCCURRED_AT_FORMAT, aware_datetime_parse
from loyalty.models import Consent, EarningRule, LedgerEntry, Member, Tier
from loyalty.selectors.badges import member_badges
from loyalty.services.events import IDEMPOTENCY_KEY_MAX
from loyalty.services.members import MEMBER_FIELDS

__all__ = ["ErrorSerializer"]  # the one error shape (core.api.schema), for the views that name it


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo in a client is an error, not silently ignored."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors = {field: [ErrorDetail("is not a known field", code="unknown_field")] for field in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict):
                raise
            raise serializers.ValidationError({**error.detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset (or Z): an event's time is never guessed."""

    default_error_messages = {"format": OCCURRED_AT_FORMAT}

    def to_internal_value(self, value):
        parsed = aware_datetime_parse(value)
        if parsed is None:
            self.fail("format")
        return parsed


# --- what the engine reads, documented from its own definitions (loyalty.engine) -------------------
def _fields_text(fields: dict[str, str]) -> str:
    return "; ".join(f"`{name}`: {', '.join(engine._OPS_BY_KIND[kind])}" for name, kind in fields.items())


ITEM_SCHEMA = {
    "type": "object",
    "description": "one line of a purchase; other keys are kept and can be matched by item conditions",
    "properties": {
        "sku": {"type": "string", "description": "the product's reference"},
        "category": {"type": "string", "description": "the product's category"},
        "quantity": {"type": ["number", "string"], "description": "units bought (default 1)"},
        "unit_price": {"type": ["number", "string"], "description": "price of one unit, in `currency`"},
    },
}
assert set(ITEM_SCHEMA["properties"]) == set(engine.ITEM_FIELDS)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "the event's data, read by the rules' `attributes.<name>` conditions (trip zones, "
        "store, channel...); a name ending in `_at` or `_date` (and `start`, `end`, `date`) is a date",
        "properties": {
            "amount": {
                "type": ["number", "string"],
                "description": "what the member spent, 0 or more, such as 12.50 (text: digits and a dot)",
            },
            "currency": {"type": "string", "description": "ISO 4217, the programme's (default)"},
            "items": {"type": "array", "maxItems": engine.MAX_ITEMS, "items": ITEM_SCHEMA},
            "original_event": {"type": "string", "description": "a `refund`: the event it refunds"},
        },
    }
)
class EventAttributesField(serializers.DictField):
    pass


def _conditions_schema(*, item: bool) -> dict:
    fields = engine.ITEM_FIELDS if item else engine.EVENT_FIELDS
    more = "another key of the item" if item else "`attributes.<name>` (any operator)"
    what = "an item must meet (all), for per-item awards" if item else "the event must meet (all)"
    condition = {
        "type": "object",
        "required": ["field", "op", "value"],
        "properties": {
            "field": {
                "type": "string",
                "examples": list(fields),
                "description": f"what is compared, with its operators: {_fields_text(fields)}; or {more}",
            },
            "op": {"type": "string", "enum": list(engine.OPERATORS)},
            "value": {
                "description": "what it is compared with: a list for `in`/`not_in`, `[low, high]` "
                f"for `between`; weekdays are {', '.join(engine.WEEKDAYS)}; times HH:MM[:SS]"
            },
            "inclusive": {
                "type": "array",
                "items": {"type": "boolean"},
                "minItems": 2,
                "maxItems": 2,
                "examples": [[False, True]],
                "description": "`between` only: whether its low and high bounds hold, such as "
                "`[false, true]` for 'over 1,000 up to 5,000'; by default both do, except a `local_time` "
                "window, which includes its start and not its end (`[true, false]`); `gt`/`gte`/`lt`/`lte` "
                "are the one-sided thresholds",
            },
        },
    }
    return {"type": "array", "items": condition, "description": f"conditions {what}"}


@extend_schema_field(_conditions_schema(item=False))
class ConditionsField(serializers.JSONField):
    pass


@extend_schema_field(_conditions_schema(item=True))
class ItemConditionsField(serializers.JSONField):
    pass


# --- members ---------------------------------------------------------------------------------------
class MemberInputSerializer(StrictSerializer):
    """PUT /members/{external_id}: the fields given are set; fields left out keep their value."""

    kind = serializers.ChoiceField(choices=Member.Kind.choices, required=False)
    company_name = serializers.CharField(max_length=160, required=False, allow_blank=True, allow_null=True)
    siret = serializers.CharField(max_length=14, required=False, allow_blank=True, allow_null=True)
    first_name = serializers.CharField(max_length=80, required=False, allow_blank=True, allow_null=True)
    last_name = serializers.CharField(max_length=80, required=False, allow_blank=True, allow_null=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, allow_null=True)
    phone = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="E.164, such as +33612345678",
    )
    address_line1 = serializers.CharField(max_length=160, required=False, allow_blank=True, allow_null=True)
    address_line2 = serializers.CharField(max_length=160, required=False, allow_blank=True, allow_null=True)
    postal_code = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True)
    city = serializers.CharField(max_length=80, required=False, allow_blank=True, allow_null=True)
    country = serializers.CharField(
        max_length=2,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="ISO 3166-1 alpha-2, such as FR",
    )
    language = serializers.CharField(max_length=8, required=False, help_text="ISO 639-1, such as fr")
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=100)
    is_vip = serializers.BooleanField(required=False)
    consents = serializers.DictField(
        child=serializers.BooleanField(),
        required=False,
        help_text=f"consent per channel ({', '.join(Consent.Channel.values)}): true or false",
    )
    sales_rep = serializers.CharField(
        max_length=254,
        required=False,
        allow_null=True,
        help_text="the member's sales rep: a staff user's e-mail or username (GET /sales-reps); null: none",
    )


class TierRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class NextExpirySerializer(serializers.Serializer):
    points = serializers.IntegerField()
    date = serializers.DateField(help_text="in the brand's timezone")
    expires_at = serializers.DateTimeField()


class PointsSerializer(serializers.Serializer):
    balance = serializers.IntegerField(help_text="the sum of the member's ledger entries")
    spendable = serializers.IntegerField(help_text="points that can be spent now")
    pending = serializers.IntegerField(help_text="points earned but not yet spendable")
    owed = serializers.IntegerField(help_text="points spent beyond the balance (overdraft)")
    next_expiry = NextExpirySerializer(allow_null=True, help_text="the points that expire first, and when")


class ConsentSerializer(serializers.Serializer):
    granted = serializers.BooleanField()
    changed_at = serializers.DateTimeField()
    source = serializers.CharField()


class MemberBadgeSerializer(serializers.Serializer):
    code = serializers.CharField(source="badge.code")
    name = serializers.CharField(source="badge.name")
    earned_at = serializers.DateTimeField(source="awarded_at")


class MemberSerializer(serializers.ModelSerializer):
    tier = TierRefSerializer(allow_null=True)
    consents = serializers.SerializerMethodField()
    points = serializers.SerializerMethodField()
    badges = serializers.SerializerMethodField()
    sales_rep = serializers.SerializerMethodField(
        help_text="the sales rep's e-mail (or username); null: none"
    )
    vip_source = serializers.ChoiceField(
        choices=Member.VipSource.choices,
        read_only=True,
        help_text="why the member is VIP: subscription, tier, spend or manual (`is_vip` set by staff "
        "or the API); empty when not VIP",
    )
    vip_since = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="since when the member is VIP, whatever the source"
    )

    class Meta:
        model = Member
        fields = [
            "external_id",
            *MEMBER_FIELDS,
            "vip_source",
            "vip_since",
            "status",
            "sales_rep",
            "tier",
            "tier_since",
            "joined_at",
            "last_activity_at",
            "consents",
            "points",
            "badges",
        ]

    @extend_schema_field(serializers.DictField(child=ConsentSerializer()))
    def get_consents(self, member: Member) -> dict:
        return {consent.channel: ConsentSerializer(consent).data for consent in member.consents.all()}

    @extend_schema_field(PointsSerializer)
    def get_points(self, member: Member) -> dict:
        return PointsSerializer(self.context["points"]).data

    @extend_schema_field(MemberBadgeSerializer(many=True, help_text="badges held, in the order earned"))
    def get_badges(self, member: Member) -> list:
        return MemberBadgeSerializer(member_badges(member=member), many=True).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sales_rep(self, member: Member) -> str | None:
        rep = member.sales_rep
        return (rep.email or rep.get_username()) if rep else None


class EventRefSerializer(serializers.Serializer):
    id = serializers.CharField(source="idempotency_key", help_text="the event's idempotency key")
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()


class RuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class LedgerEntrySerializer(serializers.ModelSerializer):
    event = EventRefSerializer(allow_null=True)
    rule = RuleRefSerializer(allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "points",
            "balance_after",
            "created_at",
            "event",
            "rule",
            "staff_user",
            "reason",
            "source",
            "reverses",
            "explanation",
        ]


class AdjustmentInputSerializer(StrictSerializer):
    points = serializers.IntegerField(
        min_value=-1_000_000_000, max_value=1_000_000_000, help_text="positive adds, negative takes"
    )
    reason = serializers.CharField(max_length=1000)

    def validate_points(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("cannot be zero")
        return value


# --- events ----------------------------------------------------------------------------------------
# The request shapes of the event endpoints, for the schema; loyalty.api.parsing reads them (fast).
class EventInputSerializer(StrictSerializer):
    member = serializers.CharField(max_length=64, help_text="the member's external id")
    type = serializers.CharField(max_length=64, help_text="an event type of the brand: purchase, trip...")
    occurred_at = AwareDateTimeField(help_text="ISO 8601 with a UTC offset")
    attributes = EventAttributesField(required=False, default=dict)


class BatchEventInputSerializer(EventInputSerializer):
    id = serializers.CharField(max_length=IDEMPOTENCY_KEY_MAX, help_text="the event's idempotency key")


class BatchInputSerializer(StrictSerializer):
    events = BatchEventInputSerializer(many=True, allow_empty=False, max_length=BATCH_MAX)


class BeneficiarySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EarningRule.Beneficiary.choices)
    member = serializers.CharField(
        help_text="external id of the account credited (a sales rep's own account)"
    )


class AwardSerializer(serializers.Serializer):
    beneficiary = BeneficiarySerializer()
    points = serializers.IntegerField(help_text="negative when a refund takes points back")
    rule = RuleRefSerializer(allow_null=True)
    explanation = serializers.DictField(help_text="matched conditions and the computation")


class EventResultSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the event's idempotency key")
    member = serializers.CharField()
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    points_awarded = serializers.IntegerField()
    awards = AwardSerializer(many=True, help_text="the points per beneficiary, with why")
    balance = serializers.IntegerField(help_text="the member's balance after the event")
    replayed = serializers.BooleanField(help_text="true when this key was seen before: nothing was written")
    refund = serializers.DictField(
        required=False, help_text="for a refund: the original event, and whether it was already reversed"
    )


class SimulationSerializer(EventResultSerializer):
    simulated = serializers.BooleanField()
    trace = serializers.ListField(child=serializers.DictField(), help_text="every rule considered, and why")


class ItemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True,
        help_text="the event's field at fault (`member`, `occurred_at`, `attributes.amount`, `id`...); "
        "null when the event is not an object",
    )
    message = serializers.CharField()
    status = serializers.IntegerField(help_text="the status the event alone would have been answered")


class BatchItemErrorSerializer(serializers.Serializer):
    """An event of the batch that was not recorded: its `id` and why; the others are recorded."""

    id = serializers.CharField(
        allow_null=True, help_text="the event's idempotency key (null when its `id` is not a string)"
    )
    error = ItemErrorSerializer()


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="BatchItemResult",
        serializers=[EventResultSerializer, BatchItemErrorSerializer],
        resource_type_field_name=None,
    )
)
class BatchItemResultField(serializers.DictField):
    """Either an event's result or, for an event that could not be recorded, its `id` and `error`."""


class BatchResultSerializer(serializers.Serializer):
    results = serializers.ListField(
        child=BatchItemResultField(), help_text="one per event of the batch, in the same order"
    )


# --- programme as code -----------------------------------------------------------------------------
class RuleSerializer(serializers.ModelSerializer):
    """An earning rule; `award_type` says how it awards (see `loyalty/engine.py`)."""

    conditions = ConditionsField(required=False)
    item_conditions = ItemConditionsField(required=False)

    class Meta:
        model = EarningRule
        fields = "__all__"
        extra_kwargs = {"award_type": {"help_text": "how the rule awards points (`loyalty/engine.py`)"}}
        read_only_fields = ["id", "budget_used", "created_at", "updated_at"]


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = "__all__"
        read_only_fields = ["id", "created_at"]
