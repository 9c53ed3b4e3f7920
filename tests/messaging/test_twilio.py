"""SMS and calls sent through the real sending service and the twilio library to the local fake
Twilio: what we send (fields, auth, TwiML in the member's language), what we store, and what each
kind of failure leaves (retried, unknown, failed)."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ElementTree
from http.client import RemoteDisconnected

import pytest
import requests
from django.utils import timezone
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError, SSLError

from loyalty.models import Consent
from loyalty.services.members import consent_set
from messaging.models import Message
from messaging.providers import twilio as twilio_provider
from messaging.providers.base import Outgoing, Sent, provider_register
from messaging.providers.twilio import (
    TwilioSms,
    call_twiml,
    provider_error,
    sms_provider,
    status_callback_url,
)
from messaging.selectors.variables import site_url
from messaging.services.sending import message_queue, message_send, message_status_apply
from messaging.tasks import messages_send_task
from tests.factories import member_make, template_make
from tests.messaging.conftest import SMS_SENDER, VOICE_CALLER

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.usefixtures("daytime_a")]


def _member(language: str = "en", phone: str = "+33612345678"):
    member = member_make(first_name="Camille", phone=phone, language=language)
    consent_set(member=member, consents={"sms": True, "voice": True}, source="test")
    return member


def _sent(channel: str = "sms", *, language: str = "en", body: str = "Hello {{ first_name }}") -> Message:
    member = _member(language)
    template_make("hello", channel=channel, language=language, body=body, purpose="service")
    message = message_queue(member=member, channel=channel, template_code="hello")
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    return message


def test_an_sms_goes_to_twilio_with_the_brands_sender_account_and_our_status_hook(twilio_a):
    message = _sent()
    [request] = twilio_a.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio_a.account_sid}/Messages.json"
    assert request.authorised and request.status == 201
    assert request.get("To") == "+33612345678"
    assert request.get("From") == SMS_SENDER
    assert request.get("Body") == "Hello Camille"
    assert request.get("StatusCallback") == f"{site_url()}hooks/twilio/status/?m={message.pk}"
    assert (message.state, message.provider, message.provider_id) == ("sent", "twilio", request.sid)
    assert request.sid.startswith("SM") and message.sent_at is not None


def test_behind_https_the_status_hook_is_named_over_https_without_the_port(in_a, settings):
    settings.SECURE_SSL_REDIRECT = True
    base = site_url()
    assert base.startswith("https://") and base.count(":") == 1 and base.endswith("/")
    outgoing = Outgoing(
        message_id=7,
        schema_name="alpha",
        channel="sms",
        purpose="service",
        language="fr",
        recipient="+33612345678",
        subject="",
        body="Bonjour",
        html="",
        site_url=base,
    )
    assert status_callback_url(outgoing) == f"{base}hooks/twilio/status/?m=7"


def test_a_call_speaks_the_text_in_the_members_language_and_reports_its_progress(twilio_a):
    message = _sent("voice", language="fr", body="Vous avez {{ balance }} points & plus, {{ first_name }}")
    [request] = twilio_a.requests
    assert request.path.endswith("/Calls.json") and request.authorised
    assert (request.get("To"), request.get("From")) == ("+33612345678", VOICE_CALLER)
    assert request.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert request.get("StatusCallbackMethod") == "POST"
    assert request.get("StatusCallback") == f"{site_url()}hooks/twilio/status/?m={message.pk}"
    says = ElementTree.fromstring(request.get("Twiml")).findall("Say")
    assert [say.text for say in says] == ["Vous avez 0 points & plus, Camille"] * 2
    assert {(say.get("language"), say.get("voice")) for say in says} == {("fr-FR", "Polly.Lea-Neural")}
    assert (message.state, message.provider_id) == ("sent", request.sid)
    assert request.sid.startswith("CA")


def test_numbers_are_spoken_whole_and_english_has_an_english_voice():
    twiml = call_twiml(text="You have 1\u202f250 points, call 06 12 34 56 78", language="en")
    say = ElementTree.fromstring(twiml).find("Say")
    assert say is not None and say.text == "You have 1250 points, call 06 12 34 56 78"
    assert (say.get("language"), say.get("voice")) == ("en-GB", "Polly.Amy-Neural")
    # Too long to say twice within Twilio's 4,000 characters: said once.
    assert len(ElementTree.fromstring(call_twiml(text="a" * 2500, language="fr")).findall("Say")) == 1


@pytest.mark.parametrize(
    ("failure", "state", "words"),
    [
        ((400, 21211), "failed", "21211"),
        ((400, 21610), "failed", "21610"),
        ((429, None), "queued", "429"),
        ((500, None), "queued", "500"),
        ((503, None), "queued", "503"),
    ],
)
def test_twilios_refusals_fail_and_its_overload_is_tried_again(twilio_a, failure, state, words):
    twilio_a.fail_next(failure[0], code=failure[1])
    message = _sent()
    assert len(twilio_a.requests) == 1
    assert message.state == state and words in message.error
    assert message.provider_id == ""
    if state == "queued":
        assert message.not_before > timezone.now() and message.attempts == 1


def test_a_number_twilio_knows_opted_out_withdraws_the_sms_consent(twilio_a):
    twilio_a.fail_next(400, code=21610)
    message = _sent()
    assert message.state == "failed" and "21610" in message.error
    consent = Consent.objects.get(member=message.member, channel="sms")
    assert (consent.granted, consent.source) == (False, "twilio: the recipient opted out")
    assert Consent.objects.get(member=message.member, channel="voice").granted is True
    # The next message is not sent at all.
    again = message_queue(member=message.member, channel="sms", template_code="hello")
    assert again.state == "skipped" and len(twilio_a.requests) == 1


def test_a_read_timeout_leaves_the_message_unknown_never_sent_again(twilio_a, settings):
    settings.TWILIO_READ_TIMEOUT = 0.5
    twilio_a.fail_next("hang")
    message = _sent("voice")
    assert message.state == "unknown" and "may have left" in message.error
    assert message_send(message_id=message.pk, attempts=0) is None
    assert message_send(message_id=message.pk, attempts=1) is None
    assert len(twilio_a.requests) == 1


def test_twilio_unreachable_sends_nothing_and_is_tried_again(twilio_a, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{port}"
    message = _sent()
    assert message.state == "queued" and "unreachable" in message.error
    assert message.not_before > timezone.now()
    assert twilio_a.requests == []


def _requests_error(reason: Exception) -> requests.ConnectionError:
    """The error requests raises for `reason`, as urllib3 hands it over."""
    return requests.ConnectionError(
        MaxRetryError(None, "/2010-04-01/Accounts/AC1/Messages.json", reason=reason)
    )


def test_a_batch_sends_each_message_once_and_reads_the_channel_settings_once(
    twilio_a, django_assert_max_num_queries
):
    template_make("hello", body="Hello {{ first_name }}", purpose="service")
    members = [_member(phone=f"+3361234567{n}") for n in range(3)]
    queued = [message_queue(member=member, channel="sms", template_code="hello") for member in members]
    sends = [[message.pk, 0] for message in queued]
    # Per message: the claim's lock and checks (7 statements with the transaction's), the settle.
    with django_assert_max_num_queries(1 + 3 * 7):
        assert messages_send_task(sends) == 3
    assert sorted(request.get("To") for request in twilio_a.requests) == [m.phone for m in members]
    # The batch again (a broker's second delivery): nothing leaves twice.
    assert messages_send_task(sends) == 0 and len(twilio_a.requests) == 3
    assert set(Message.objects.values_list("state", flat=True)) == {"sent"}


class _CallbackFirst(TwilioSms):
    """Twilio's status callback (delivered) arrives while our send is still waiting for its answer."""

    def send(self, outgoing: Outgoing) -> Sent:
        sent = super().send(outgoing)
        message_status_apply(message_id=outgoing.message_id, state="delivered", provider_id=sent.provider_id)
        return sent


def test_a_callback_that_came_before_the_answer_stands(twilio_a, twilio_account):
    provider_register(
        channel="sms",
        factory=lambda channel_settings: _CallbackFirst(
            account_sid=twilio_a.account_sid, auth_token=twilio_a.auth_token, sender=SMS_SENDER
        ),
    )
    try:
        message = _sent()
    finally:
        provider_register(channel="sms", factory=sms_provider)
    [request] = twilio_a.requests
    assert (message.state, message.provider, message.provider_id) == ("delivered", "twilio", request.sid)
    assert message.delivered_at is not None


def test_the_environments_proxy_is_used(twilio_a, monkeypatch):
    """The proxy variables are read once per client, not per request: still read."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delattr(twilio_provider._threads, "client", raising=False)
    message = _sent()
    assert message.state == "queued" and "unreachable" in message.error
    assert twilio_a.requests == []
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.delattr(twilio_provider._threads, "client")


@pytest.mark.parametrize(
    ("error", "retry", "maybe_sent"),
    [
        (
            _requests_error(NameResolutionError("api.twilio.com", None, socket.gaierror(-2, "unknown"))),
            True,
            False,
        ),
        (_requests_error(NewConnectionError(None, "Connection refused")), True, False),
        (requests.ConnectTimeout("connect timed out"), True, False),
        (requests.ReadTimeout("read timed out"), False, True),
        (
            requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected("closed"))),
            False,
            True,
        ),
        (ValueError("Expecting value: line 1 column 1"), False, True),
        (
            requests.exceptions.SSLError(MaxRetryError(None, "/", reason=SSLError("bad record mac"))),
            False,
            True,
        ),
    ],
)
def test_what_a_network_failure_means_for_the_message(error, retry, maybe_sent):
    failure = provider_error(error)
    assert (failure.retry, failure.maybe_sent) == (retry, maybe_sent)


def test_wrong_credentials_fail_naming_twilios_error(twilio_a, twilio_account):
    twilio_account(twilio_a, twilio_auth_token="not-the-token")
    message = _sent()
    [request] = twilio_a.requests
    assert not request.authorised and request.status == 401
    assert message.state == "failed" and "20003" in message.error


def test_without_credentials_sms_and_calls_go_to_the_development_outbox(in_a, fake_twilio):
    for channel in ("sms", "voice"):
        template_make("hello", channel=channel, purpose="service")
    member = _member()
    for channel in ("sms", "voice"):
        message = message_queue(member=member, channel=channel, template_code="hello")
        message_send(message_id=message.pk, attempts=0)
        message.refresh_from_db()
        assert (message.state, message.provider) == ("delivered", "outbox")
    assert fake_twilio.requests == []


def test_an_account_without_a_sender_fails_saying_so(twilio_a, twilio_account):
    twilio_account(twilio_a, sms_sender="", voice_caller="")
    assert "SMS sender" in _sent().error
    assert "calling number" in _sent("voice").error
    assert twilio_a.requests == []
