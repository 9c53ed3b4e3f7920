"""Twilio's callbacks on the brand's host, signed by the fake Twilio as Twilio signs them: statuses
move a message forward only, a bad signature changes nothing, STOP replies opt out of SMS, and a
call not answered is retried twice at most, hours apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.models import Consent, ConsentChange
from loyalty.services.members import consent_set
from messaging.models import Message
from messaging.selectors.variables import site_url
from messaging.services.sending import message_queue, message_send
from tenants.selectors import brand_timezone
from tests.factories import member_make, template_make

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.usefixtures("daytime_a")]

PHONE = "+33612345678"


def _send(channel: str = "sms", *, member=None) -> Message:
    member = member or _member()
    template_make("reminder", channel=channel, body="Hello {{ first_name }}", purpose="service")
    message = message_queue(member=member, channel=channel, template_code="reminder")
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    assert message.state == "sent", message.error
    return message


def _member(phone: str = PHONE):
    member = member_make(first_name="Camille", phone=phone, language="en")
    consent_set(member=member, consents={"sms": True, "voice": True}, source="test")
    return member


def _state(message: Message) -> tuple:
    message.refresh_from_db()
    return message.state, message.provider_status, message.delivered_at, message.failed_at


def test_sms_statuses_move_forward_and_duplicates_or_late_ones_change_nothing(twilio_a, twilio_post):
    message = _send()
    sid = message.provider_id
    assert twilio_post(twilio_a.callback(sid, "sent")).status_code == 204
    assert _state(message)[0] == "sent"
    assert twilio_post(twilio_a.callback(sid, "delivered")).status_code == 204
    delivered = _state(message)
    assert delivered[:2] == ("delivered", "delivered") and delivered[2] is not None
    for late in ("delivered", "sent", "queued", "failed"):
        assert twilio_post(twilio_a.callback(sid, late)).status_code == 204
        assert _state(message) == delivered


def test_an_undelivered_sms_fails_with_twilios_error_code(twilio_a, twilio_post):
    message = _send()
    response = twilio_post(twilio_a.callback(message.provider_id, "undelivered", ErrorCode="30003"))
    assert response.status_code == 204
    message.refresh_from_db()
    assert (message.state, message.provider_status) == ("failed", "undelivered")
    assert "30003" in message.error and message.failed_at is not None


def test_a_call_rings_is_answered_and_ends_delivered(twilio_a, twilio_post):
    message = _send("voice")
    for status in ("initiated", "ringing", "in-progress"):
        assert twilio_post(twilio_a.callback(message.provider_id, status)).status_code == 204
        assert _state(message)[0] == "sent"
    assert twilio_post(twilio_a.callback(message.provider_id, "completed")).status_code == 204
    assert _state(message)[:2] == ("delivered", "completed")
    assert not Message.objects.filter(retry_of=message).exists()


@pytest.mark.parametrize("forgery", ["no signature", "wrong signature", "another token", "changed field"])
def test_a_callback_not_signed_by_the_brands_account_is_403_and_changes_nothing(
    twilio_a, twilio_post, forgery
):
    message = _send()
    before = _state(message)
    callback = twilio_a.callback(message.provider_id, "delivered")
    if forgery == "no signature":
        response = twilio_post(callback, signature="")
    elif forgery == "wrong signature":
        response = twilio_post(callback, signature="bm90IGEgc2lnbmF0dXJl")
    elif forgery == "another token":
        response = twilio_post(twilio_a.callback(message.provider_id, "delivered", token="0" * 32))
    else:
        forged = type(callback)(
            url=callback.url,
            params={**callback.params, "MessageStatus": "failed"},
            signature=callback.signature,
        )
        response = twilio_post(forged)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_signature"
    assert _state(message) == before


def test_a_brand_without_twilio_credentials_refuses_every_callback(twilio_a, twilio_account, twilio_post):
    message = _send()
    callback = twilio_a.callback(message.provider_id, "delivered")
    twilio_account(twilio_a, twilio_account_sid="", twilio_auth_token="")
    assert twilio_post(callback).status_code == 403
    assert _state(message)[0] == "sent"


def test_a_callback_for_no_message_or_another_twilio_id_is_404_and_bad_fields_400(twilio_a, twilio_post):
    message = _send()
    callback = twilio_a.callback(message.provider_id, "delivered")
    missing = callback.url.replace(f"?m={message.pk}", f"?m={message.pk + 1000}")
    assert twilio_post(twilio_a.signed(missing, callback.params)).status_code == 404
    other = {**callback.params, "MessageSid": "SM" + "0" * 32}
    assert twilio_post(twilio_a.signed(callback.url, other)).status_code == 404
    assert _state(message)[0] == "sent"

    unknown = twilio_post(twilio_a.signed(callback.url, {**callback.params, "MessageStatus": "exploded"}))
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "status"
    for bad in ("", "?m=", "?m=12a", "?m=%C2%B2", f"?m={10**20}"):
        no_id = twilio_post(twilio_a.signed(callback.url.split("?")[0] + bad, callback.params))
        assert no_id.status_code == 400 and no_id.json()["error"]["field"] == "m", bad
    assert _state(message)[0] == "sent"


def _inbound(fake, body: str, sender: str = PHONE, **fields: str):
    return fake.inbound(f"{site_url()}hooks/twilio/inbound/", sender=sender, body=body, **fields)


@pytest.mark.parametrize(
    "reply", ["STOP", "stop", "  Stop.  ", "ARRET", "arrêt", "ARRÊT !", "Stop SMS", "STOP-SMS", "unsubscribe"]
)
def test_a_stop_reply_opts_the_member_out_of_sms_recorded(twilio_a, twilio_post, reply):
    member = _member()
    response = twilio_post(_inbound(twilio_a, reply))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode().endswith("<Response />")
    consent = Consent.objects.get(member=member, channel="sms")
    assert consent.granted is False and consent.source == "sms STOP"
    change = ConsentChange.objects.filter(member=member, channel="sms").first()
    assert change is not None and (change.granted, change.source) == (False, "sms STOP")
    assert Consent.objects.get(member=member, channel="voice").granted is True
    # Sent again, it records no second change.
    twilio_post(_inbound(twilio_a, reply))
    assert ConsentChange.objects.filter(member=member, channel="sms", granted=False).count() == 1


def test_a_reply_twilio_names_an_opt_out_opts_out_whatever_its_words(twilio_a, twilio_post):
    member = _member()
    assert twilio_post(_inbound(twilio_a, "Arrêtez svp", OptOutType="STOP")).status_code == 200
    assert Consent.objects.get(member=member, channel="sms").granted is False


@pytest.mark.parametrize("reply", ["Merci", "stop calling me at night", "STOPPED", ""])
def test_other_replies_change_nothing(twilio_a, twilio_post, reply):
    member = _member()
    assert twilio_post(_inbound(twilio_a, reply)).status_code == 200
    assert Consent.objects.get(member=member, channel="sms").granted is True


@pytest.mark.parametrize("reply", ["START", "start", "Unstop", "YES"])
def test_a_start_reply_gives_back_only_what_a_stop_took(twilio_a, twilio_post, reply):
    stopped, refused = _member(), member_make(phone=PHONE, language="en")
    consent_set(member=refused, consents={"sms": False}, source="web form")
    assert twilio_post(_inbound(twilio_a, "STOP")).status_code == 200
    assert twilio_post(_inbound(twilio_a, reply)).status_code == 200
    consent = Consent.objects.get(member=stopped, channel="sms")
    assert consent.granted is True and consent.source == "sms START"
    # The member who said no on the site said nothing by SMS: still no (the stop changed nothing).
    assert Consent.objects.get(member=refused, channel="sms").granted is False
    assert not ConsentChange.objects.filter(member=refused, source="sms START").exists()


def test_a_stop_from_an_unknown_phone_or_badly_signed_changes_nothing(twilio_a, twilio_post):
    member = _member()
    assert twilio_post(_inbound(twilio_a, "STOP", sender="+33699999999")).status_code == 200
    assert twilio_post(_inbound(twilio_a, "STOP"), signature="bm9wZQ==").status_code == 403
    forged = twilio_a.inbound(f"{site_url()}hooks/twilio/inbound/", sender=PHONE, body="STOP", token="0" * 32)
    assert twilio_post(forged).status_code == 403
    assert Consent.objects.get(member=member, channel="sms").granted is True


def _unanswered(fake, twilio_post, message: Message, status: str = "no-answer") -> Message | None:
    for progress in ("initiated", "ringing", status):
        assert twilio_post(fake.callback(message.provider_id, progress)).status_code == 204
    return Message.objects.filter(retry_of=message.retry_of or message).order_by("-id").first()


def test_a_call_not_answered_is_retried_twice_hours_apart_then_not_again(twilio_a, twilio_post, settings):
    first = _send("voice")
    retry = _unanswered(twilio_a, twilio_post, first)
    first.refresh_from_db()
    assert (first.state, first.provider_status, first.error) == ("failed", "no-answer", "no answer")
    assert retry is not None and retry.retry_of_id == first.pk and retry.state == "queued"
    assert retry.body == first.body and retry.recipient == PHONE
    hours = timedelta(hours=settings.VOICE_RETRY_DELAY_HOURS)
    assert timezone.now() + hours - timedelta(minutes=1) < retry.not_before <= timezone.now() + hours
    assert retry.requeue_at == retry.not_before  # hours away: the outbox sweeper sends it then
    # The same word again adds no second retry.
    twilio_post(twilio_a.callback(first.provider_id, "no-answer"))
    assert Message.objects.filter(retry_of=first).count() == 1

    message_send(message_id=retry.pk, attempts=0)
    retry.refresh_from_db()
    assert retry.state == "sent" and len(twilio_a.sent("Calls")) == 2
    second = _unanswered(twilio_a, twilio_post, retry, status="busy")
    assert second is not None and second.pk != retry.pk and second.retry_of_id == first.pk

    message_send(message_id=second.pk, attempts=0)
    second.refresh_from_db()
    assert _unanswered(twilio_a, twilio_post, second) == second  # no third
    assert Message.objects.filter(retry_of=first).count() == 2
    assert len(twilio_a.sent("Calls")) == 3


def test_a_retry_is_checked_again_and_skipped_once_the_member_opted_out(twilio_a, twilio_post):
    member = _member()
    first = _send("voice", member=member)
    consent_set(member=member, consents={"voice": False}, source="web form")
    retry = _unanswered(twilio_a, twilio_post, first)
    assert retry is not None and (retry.state, retry.skip_reason) == ("skipped", "opted_out")


def test_a_retry_due_after_the_calling_hours_waits_for_the_next_morning(twilio_a, twilio_post, clock_a):
    clock_a(19)  # the call rings at 19:xx; 3 hours later calls are over for the day
    first = _send("voice")
    retry = _unanswered(twilio_a, twilio_post, first)
    assert retry is not None and retry.state == "queued"
    local = retry.not_before.astimezone(brand_timezone())
    assert retry.not_before > timezone.now() + timedelta(hours=3)
    assert (local.hour, local.minute) == (8, 0)
    assert retry.requeue_at == retry.not_before  # the sweeper's, at 8:00


def test_a_failed_or_answered_call_is_not_retried(twilio_a, twilio_post):
    failed = _send("voice")
    assert _unanswered(twilio_a, twilio_post, failed, status="failed") is None
    answered = _send("voice")
    assert _unanswered(twilio_a, twilio_post, answered, status="completed") is None
