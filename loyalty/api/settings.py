"""The programme's settings (point value, currency, expiry, pending days, overdraft, tier
qualification, the member site's languages): read, replaced (PUT: every setting) or changed (PATCH:
the settings given), with the backoffice's validation (`loyalty.services.programme`, which its form
uses too)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.schema import error_responses
from loyalty.api.programme import body_object
from loyalty.models import ProgrammeSettings
from loyalty.selectors.programme import programme_settings
from loyalty.services.programme import EDITABLE_FIELDS, programme_settings_update
from tenants.selectors import brand_timezone

INVALID = {
    400: "invalid settings, nothing written: `error.field` names the setting (a PUT without every "
    "setting names the first missing one, code `required`)"
}
REQUIRED = "is required: PUT sets every setting (PATCH sets the settings given)"
HELP = {
    "activation_code_days": "days an activation code stays valid once issued "
    "(`POST /members/{external_id}/activation-codes`), 1 to 3650",
    "points_per_unit": "the point value: `points_per_unit` points are worth `unit_value` `currency`",
    "unit_value": "what `points_per_unit` points are worth, more than 0 (100 points = 5.00 EUR)",
    "currency": "the programme's currency, ISO 4217 (EUR); purchases in it count for tiers",
    "signup_open": "customers may join on the member site's `/join/`; `false`: by invitation only "
    "(`POST /members/{external_id}/invitations`)",
    "expiry_days": "days after earning that points expire: required with `expiry_policy` `days`, "
    "null otherwise",
    "tier_metric_event_type": "the event type counted when `tier_metric` is `event_count`",
    "tier_window_months": "months of a `rolling_months` window (1 or more)",
    "tier_downgrade": "`grace`: a member who falls short keeps their tier for `tier_grace_days`",
    "tier_grace_days": "days a member keeps a tier they no longer qualify for (`tier_downgrade` `grace`)",
    "site_languages": "the member site's languages, among `en` and `fr`: a member's own language, "
    "else their browser's, is served when it is one of them",
    "default_language": "the member site's language when neither the member nor their browser asks "
    "for one of `site_languages` (one of them)",
    "vip_spend_amount": "members who spent at least this, in `currency`, over the last "
    "`vip_spend_months` are VIP (measured as tiers measure amount spent); null: no spend rule",
    "vip_spend_months": "the window of the VIP spend rule, in months (1 or more)",
}


def _setting_kwargs(field: str) -> dict:
    """Required for a PUT (which sets every setting); a PATCH checks the settings given only."""
    kwargs: dict = {"required": True, "error_messages": {"required": REQUIRED}}
    if field in HELP:
        kwargs["help_text"] = HELP[field]
    return kwargs


class ProgrammeSettingsSerializer(serializers.ModelSerializer):
    timezone = serializers.SerializerMethodField(
        help_text="the brand's timezone (read only): every time rule, expiry and window uses it"
    )

    class Meta:
        model = ProgrammeSettings
        fields = [*EDITABLE_FIELDS, "timezone", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {field: _setting_kwargs(field) for field in EDITABLE_FIELDS}

    def get_timezone(self, row: ProgrammeSettings) -> str:
        return str(brand_timezone())


def _settings_body(request: Request, *, every: bool) -> dict:
    """The settings in the body, their JSON types checked first (the service then validates them as
    it validates the backoffice form); with `every`, a body lacking a setting is refused."""
    body = body_object(request)
    types = ProgrammeSettingsSerializer(data=body, partial=not every)
    if not types.is_valid():
        raise exceptions.ValidationError(types.errors)
    return body


def _settings_response() -> Response:
    return Response(ProgrammeSettingsSerializer(programme_settings()).data)


class ProgrammeSettingsView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        operation_id="programme_read",
        summary="The programme's settings",
        description="Point value, currency, expiry policy, pending days, overdraft, auto-creation of "
        "members, tier qualification (metric, window, downgrade and grace) and the member site's "
        "languages: every setting the backoffice's programme page edits.",
        responses={200: ProgrammeSettingsSerializer},
    )
    def get(self, request):
        return _settings_response()

    @extend_schema(
        operation_id="programme_replace",
        summary="Replace the programme's settings (every setting)",
        description="Sets every editable setting: a body lacking one is refused (400 naming it), "
        "`timezone` and `updated_at` are read only. Validated as the backoffice's programme page is. "
        "The next event recorded uses the new settings (point expiry and pending days of the points "
        "it earns, tier qualification); a new `overdraft_limit` applies to every member at once.",
        request=ProgrammeSettingsSerializer,
        responses={200: ProgrammeSettingsSerializer, **error_responses(400, why=INVALID)},
    )
    def put(self, request):
        programme_settings_update(data=_settings_body(request, every=True))
        return _settings_response()

    @extend_schema(
        operation_id="programme_update",
        summary="Change some of the programme's settings (the settings given)",
        description="Sets the settings given; the others keep their value. Validated as a whole, as "
        "the backoffice's programme page is (`expiry_policy` `days` needs `expiry_days`, given now or "
        "already set). The next event recorded uses the new settings.",
        request=ProgrammeSettingsSerializer,
        responses={200: ProgrammeSettingsSerializer, **error_responses(400, why=INVALID)},
    )
    def patch(self, request):
        programme_settings_update(data=_settings_body(request, every=False))
        return _settings_response()
