"""SMS and voice calls over Twilio (README, "Messaging > SMS and calls"): Twilio Messaging for SMS,
Programmable Voice for calls that speak the message with TwiML `<Say>` in its language.

Each brand has its own Twilio account (`ChannelSettings.twilio_account_sid` / `twilio_auth_token`),
SMS sender and calling number; without an account both channels go to the development outbox.
Every send names our status hook (`STATUS_HOOK`) with our message id, so Twilio's callbacks
(`messaging.hooks_twilio`) find the message even when the worker died before storing Twilio's id.

The REST API's base is `settings.TWILIO_API_BASE` (the real one unless tests or benches point it at
`tests/fakes/twilio.py`). A failure says whether the message may have left: a refused connection or
an unknown host sent nothing (tried again), a read timeout or a cut connection may have (the
message ends `unknown` and is never sent twice), Twilio's 4xx refuse it (failed), 429 and 5xx are
tried again.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProxyError

from messaging.models import Channel, ChannelSettings

from .base import Outgoing, Provider, ProviderError, Sent, provider_register

# Where Twilio's callbacks arrive, under the brand's site (`messaging.urls`).
STATUS_HOOK = "hooks/twilio/status/"
INBOUND_HOOK = "hooks/twilio/inbound/"

# The call progress Twilio reports to the status hook.
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")

# The language a call's text is spoken in, and a voice of it (Amazon Polly's neural voices through
# Twilio); another language is spoken in English.
VOICES = {
    "fr": ("fr-FR", "Polly.Lea-Neural"),
    "en": ("en-GB", "Polly.Amy-Neural"),
    "de": ("de-DE", "Polly.Vicki-Neural"),
    "es": ("es-ES", "Polly.Lucia-Neural"),
    "it": ("it-IT", "Polly.Bianca-Neural"),
    "nl": ("nl-NL", "Polly.Laura-Neural"),
    "pt": ("pt-PT", "Polly.Ines-Neural"),
}
# Twilio's error for a number whose owner replied STOP to one of the account's senders.
OPTED_OUT_ERROR = "21610"
# Twilio's limit on a call's TwiML given inline.
TWIML_MAX_LENGTH = 4000
# "1 250" as `core.formats` writes numbers (a no-break space between groups of digits): spoken as
# one number ("mille deux cent cinquante"), not as "un, deux cent cinquante".
_DIGIT_GROUP = re.compile(r"(?<=\d)[\u00a0\u202f](?=\d{3}\b)")

logger = logging.getLogger(__name__)
_threads = threading.local()


class _HttpClient(TwilioHttpClient):
    """Twilio's HTTP client with a connect timeout and a read timeout of their own (requests takes
    the pair, which the base class's check of a single number refuses in its constructor), logging
    one line per request at DEBUG instead of a dozen at INFO (a campaign sends 100,000). The
    environment's proxy and CA bundle settings are read once, when the client is made: requests
    reads them again on every request otherwise, a tenth of a send's cost."""

    def __init__(self) -> None:
        super().__init__(pool_connections=True, logger=logger)
        self.timeout = (settings.TWILIO_CONNECT_TIMEOUT, settings.TWILIO_READ_TIMEOUT)
        self.base_url = settings.TWILIO_API_BASE
        self.proxy = requests.utils.get_environ_proxies(self.base_url)
        self.session.trust_env = False
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True

    def log_request(self, kwargs: dict[str, Any]) -> None:
        logger.debug("Twilio: %s %s", kwargs["method"], kwargs["url"])

    def log_response(self, status_code: int, response: Any) -> None:
        logger.debug("Twilio: answered %s", status_code)


def _http_client() -> _HttpClient:
    """This thread's HTTP client: its connections to Twilio are kept open between sends."""
    client = getattr(_threads, "client", None)
    if (
        client is None
        or client.timeout != (settings.TWILIO_CONNECT_TIMEOUT, settings.TWILIO_READ_TIMEOUT)
        or client.base_url != settings.TWILIO_API_BASE
    ):
        client = _threads.client = _HttpClient()
    return client


def status_callback_url(outgoing: Outgoing) -> str | None:
    """Our status hook on the brand's site, carrying our message id (None outside a brand's site).
    The site's address is the public one (`messaging.selectors.variables.site_url`: over HTTPS
    where the platform redirects plain HTTP), since the signature covers the URL and Twilio's
    POST would not follow a redirect."""
    if not outgoing.site_url:
        return None
    return f"{outgoing.site_url}{STATUS_HOOK}?m={outgoing.message_id}"


def call_twiml(*, text: str, language: str) -> str:
    """The call's TwiML: `text` said in `language` with a voice of it, a pause, then said again
    (the start is often missed while the phone reaches the ear), once only if twice is too long."""
    locale, voice = VOICES.get(language.split("-")[0].lower(), VOICES["en"])
    spoken = _DIGIT_GROUP.sub("", text)
    for times in (2, 1):
        response = VoiceResponse()
        for time in range(times):
            if time:
                response.pause(length=1)
            response.say(spoken, language=locale, voice=voice)
        twiml = str(response)
        if len(twiml) <= TWIML_MAX_LENGTH:
            return twiml
    raise ProviderError(f"the call's text is too long ({len(text)} characters) to be spoken in one call")


def provider_error(error: Exception) -> ProviderError:
    """What a failed call to Twilio's API means for the message (module docstring)."""
    if isinstance(error, TwilioException) and hasattr(error, "status"):
        status = int(error.status)
        text = f"Twilio {status} (error {getattr(error, 'code', '')}): {getattr(error, 'msg', error)}"
        opted_out = str(getattr(error, "code", "")) == OPTED_OUT_ERROR
        return ProviderError(text, retry=status == 429 or status >= 500, opted_out=opted_out)
    if isinstance(error, requests.ConnectTimeout) or (
        isinstance(error, requests.ConnectionError) and _not_connected(error)
    ):
        return ProviderError(f"Twilio unreachable: {error}", retry=True)
    # A read timeout, a connection cut after the request left, an answer we cannot read, a TLS
    # error (urllib3 says the same of one in the handshake and one in the answer).
    return ProviderError(f"no answer from Twilio, the message may have left: {error}", maybe_sent=True)


def _not_connected(error: requests.ConnectionError) -> bool:
    """True when the connection was never made (refused, unknown host, to Twilio or to the
    environment's proxy): nothing was sent."""
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, ProxyError):
        reason = reason.original_error
    return isinstance(reason, NewConnectionError)


class _Twilio(Provider):
    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, sender: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender

    def _client(self) -> Client:
        client = Client(self.account_sid, self.auth_token, http_client=_http_client())
        # The library's own base unless the setting says otherwise (a local fake).
        client.api.base_url = settings.TWILIO_API_BASE
        return client


class TwilioSms(_Twilio):
    def send(self, outgoing: Outgoing) -> Sent:
        if not self.sender:
            raise ProviderError("no SMS sender in the brand's channel settings")
        try:
            message = self._client().messages.create(
                to=outgoing.recipient,
                from_=self.sender,
                body=outgoing.body,
                status_callback=status_callback_url(outgoing),
            )
        except (TwilioException, requests.RequestException, ValueError) as error:
            raise provider_error(error) from error
        return Sent(provider=self.name, provider_id=str(message.sid))


class TwilioVoice(_Twilio):
    def send(self, outgoing: Outgoing) -> Sent:
        if not self.sender:
            raise ProviderError("no calling number in the brand's channel settings")
        twiml = call_twiml(text=outgoing.body, language=outgoing.language)
        callback = status_callback_url(outgoing)
        try:
            call = self._client().calls.create(
                to=outgoing.recipient,
                from_=self.sender,
                twiml=twiml,
                status_callback=callback,
                status_callback_event=list(CALL_EVENTS) if callback else None,
                status_callback_method="POST" if callback else None,
            )
        except (TwilioException, requests.RequestException, ValueError) as error:
            raise provider_error(error) from error
        return Sent(provider=self.name, provider_id=str(call.sid))


def _credentials(channel_settings: ChannelSettings) -> dict[str, str] | None:
    if not (channel_settings.twilio_account_sid and channel_settings.twilio_auth_token):
        return None
    return {
        "account_sid": channel_settings.twilio_account_sid,
        "auth_token": channel_settings.twilio_auth_token,
    }


def sms_provider(channel_settings: ChannelSettings) -> TwilioSms | None:
    credentials = _credentials(channel_settings)
    return TwilioSms(**credentials, sender=channel_settings.sms_sender) if credentials else None


def voice_provider(channel_settings: ChannelSettings) -> TwilioVoice | None:
    credentials = _credentials(channel_settings)
    return TwilioVoice(**credentials, sender=channel_settings.voice_caller) if credentials else None


provider_register(channel=Channel.SMS, factory=sms_provider)
provider_register(channel=Channel.VOICE, factory=voice_provider)
