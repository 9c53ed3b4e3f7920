"""The brand's channel settings (senders, provider accounts, rate, call cap) checked and saved: one
row per brand schema. Secrets (the Twilio auth token, the e-mail provider's credentials and webhook
secret) are replaced only when a new value is given, and never read back to a page."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core.errors import InvalidInput
from messaging.models import ChannelSettings
from messaging.selectors.templates import channel_settings_get

SECRET_FIELDS = ("email_credentials", "email_webhook_secret", "twilio_auth_token")
SETTINGS_FIELDS = (
    "email_from_name",
    "email_from_address",
    "email_provider",
    "email_credentials",
    "email_webhook_secret",
    "sms_sender",
    "voice_caller",
    "twilio_account_sid",
    "twilio_auth_token",
    "sends_per_second",
    "marketing_calls_per_30_days",
)
# A phone number in E.164: +, a country code, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# An alphanumeric sender id: letters, digits and spaces, 11 at most, one letter at least.
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
MAX_SENDS_PER_SECOND = 1000


def _errors(row: ChannelSettings) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        row.full_clean(validate_constraints=False, validate_unique=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    if row.sms_sender and not (E164.match(row.sms_sender) or ALPHANUMERIC_SENDER.match(row.sms_sender)):
        errors.setdefault("sms_sender", []).append(
            "an alphanumeric sender id (letters, digits and spaces, at most 11, one letter at least) "
            "or a number in E.164 (+33612345678)"
        )
    if row.voice_caller and not E164.match(row.voice_caller):
        errors.setdefault("voice_caller", []).append("a number in E.164 (+33123456789)")
    if row.twilio_account_sid and not TWILIO_SID.match(row.twilio_account_sid):
        errors.setdefault("twilio_account_sid", []).append("AC followed by 32 hexadecimal digits")
    if bool(row.twilio_account_sid) != bool(row.twilio_auth_token):
        missing = "twilio_auth_token" if row.twilio_account_sid else "twilio_account_sid"
        errors.setdefault(missing, []).append("the account SID and the auth token go together")
    if not isinstance(row.email_credentials, dict) or not all(
        isinstance(key, str) and isinstance(value, str | int | bool)
        for key, value in row.email_credentials.items()
    ):
        errors.setdefault("email_credentials", []).append(
            'an object of the provider\'s settings: {"api_key": "...", "sender_domain": "..."}'
        )
    if row.email_provider and not row.email_credentials:
        errors.setdefault("email_credentials", []).append("the provider needs its credentials")
    if not 1 <= row.sends_per_second <= MAX_SENDS_PER_SECOND:
        errors.setdefault("sends_per_second", []).append(f"from 1 to {MAX_SENDS_PER_SECOND}")
    return errors


def channel_settings_validate(*, data: dict[str, Any]) -> ChannelSettings:
    """The brand's settings with `data` applied and checked, not saved. A secret absent from `data`
    (or None) keeps its stored value; an empty one clears it."""
    unknown = sorted(set(data) - set(SETTINGS_FIELDS))
    if unknown:
        raise InvalidInput({name: ["is not a channel setting"] for name in unknown})
    row = channel_settings_get()
    for name, value in data.items():
        if name in SECRET_FIELDS and value is None:
            continue
        setattr(row, name, value)
    errors = _errors(row)
    if errors:
        raise InvalidInput(errors)
    return row


def channel_settings_update(*, data: dict[str, Any]) -> ChannelSettings:
    """Check and save the brand's channel settings (`channel_settings_validate`)."""
    with transaction.atomic():
        ChannelSettings.objects.select_for_update().filter(id=1).first()
        row = channel_settings_validate(data=data)
        row.save()
    return row
