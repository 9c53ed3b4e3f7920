"""The backoffice's channel settings page: one page, saved through the service, refusals on the
fields they name, and secrets never shown back (kept when left empty, removed when asked)."""

from __future__ import annotations

import pytest

from messaging.models import ChannelSettings
from messaging.selectors.templates import channel_settings_get

CHANGE = "/backoffice/messaging/channelsettings/1/change/"
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "f3c1d2e4b5a6978877665544332211aa"
FORM = {
    "email_from_name": "Alpha Club",
    "email_from_address": "club@alpha.example",
    "email_provider": "",
    "email_credentials": "",
    "email_webhook_secret": "",
    "sms_sender": "AlphaClub",
    "voice_caller": "+33123456789",
    "twilio_account_sid": SID,
    "twilio_auth_token": TOKEN,
    "sends_per_second": "20",
    "marketing_calls_per_30_days": "4",
}


def _errors(page) -> dict:
    assert page.status_code == 200
    return page.context["adminform"].form.errors


def test_the_list_is_the_settings_page_and_the_defaults_are_the_outbox(staff_a):
    assert staff_a.get("/backoffice/messaging/channelsettings/")["Location"].endswith(CHANGE)
    html = staff_a.get(CHANGE).content.decode()
    assert 'name="twilio_auth_token"' in html and "Not set." in html
    assert "Development outbox" in html
    assert not ChannelSettings.objects.exists()


def test_saved_then_the_secrets_are_never_shown_back_and_kept_when_left_empty(staff_a):
    credentials = '{"api_key": "key-s3cret-value", "sender_domain": "mg.alpha.example"}'
    saved = staff_a.post(
        CHANGE,
        {
            **FORM,
            "email_provider": "mailgun",
            "email_credentials": credentials,
            "email_webhook_secret": "u:p",
        },
    )
    assert saved.status_code == 302, _errors(saved)
    row = channel_settings_get()
    assert (row.sms_sender, row.twilio_auth_token, row.sends_per_second) == ("AlphaClub", TOKEN, 20)
    assert row.email_credentials["api_key"] == "key-s3cret-value"
    html = staff_a.get(CHANGE).content.decode()
    assert TOKEN not in html and "key-s3cret-value" not in html and "u:p" not in html
    assert "Set (keys: api_key, sender_domain)." in html
    kept = staff_a.post(
        CHANGE, {**FORM, "email_provider": "mailgun", "twilio_auth_token": "", "sms_sender": "+33612345678"}
    )
    assert kept.status_code == 302, _errors(kept)
    row = channel_settings_get()
    assert (row.twilio_auth_token, row.sms_sender) == (TOKEN, "+33612345678")
    assert row.email_credentials["api_key"] == "key-s3cret-value" and row.email_webhook_secret == "u:p"


def test_a_secret_is_removed_when_asked(staff_a):
    assert staff_a.post(CHANGE, FORM).status_code == 302
    removed = staff_a.post(
        CHANGE, {**FORM, "twilio_account_sid": "", "twilio_auth_token": "", "twilio_auth_token_clear": "on"}
    )
    assert removed.status_code == 302, _errors(removed)
    row = channel_settings_get()
    assert (row.twilio_account_sid, row.twilio_auth_token) == ("", "")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sms_sender": "AlphaClubRewards"}, "sms_sender"),  # 16 characters
        ({"sms_sender": "12345"}, "sms_sender"),  # no letter, not E.164
        ({"sms_sender": "Alpha-Club"}, "sms_sender"),
        ({"sms_sender": "+0612"}, "sms_sender"),
        ({"voice_caller": "0123456789"}, "voice_caller"),
        ({"twilio_account_sid": "SK123"}, "twilio_account_sid"),
        ({"twilio_account_sid": "", "twilio_auth_token": TOKEN}, "twilio_account_sid"),
        ({"email_from_address": "not an address"}, "email_from_address"),
        ({"email_provider": "mailgun"}, "email_credentials"),
        ({"email_credentials": "{not json"}, "email_credentials"),
        ({"email_credentials": '["a list"]'}, "email_credentials"),
        ({"sends_per_second": "0"}, "sends_per_second"),
    ],
)
def test_refusals_name_their_fields_and_save_nothing(staff_a, changes, field):
    errors = _errors(staff_a.post(CHANGE, {**FORM, **changes}))
    assert field in errors, errors
    assert not ChannelSettings.objects.exists()


@pytest.mark.parametrize(
    "sender", ["AlphaClub", "Alpha Club", "A1", "ALPHA2026", "+33612345678", "+447911123456"]
)
def test_good_senders(staff_a, sender):
    assert staff_a.post(CHANGE, {**FORM, "sms_sender": sender}).status_code == 302
    assert channel_settings_get().sms_sender == sender
