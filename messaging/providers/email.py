"""E-mail: Django's e-mail API with django-anymail, per brand (README, "Messaging > E-mail").

The brand's `ChannelSettings` name the provider (`email_provider`) and give its options
(`email_credentials`, a JSON object: the keys of `CREDENTIAL_KEYS`); the connection is built for
each send with `get_connection(backend, **options)`, never from global settings (anymail's
`ANYMAIL` setting stays unset). The providers' API addresses come from `EMAIL_API_URLS` (the real
ones; the tests point them at `tests/fakes/email.py`). No provider or no credentials: the
development outbox (`providers.base`).

Our message id and the brand's schema go with each message as anymail `metadata` (Mailgun
user-variables, SendGrid custom args, Brevo's X-Mailin-custom, SES tags), so the tracking webhooks
(`messaging.hooks_email`) find it; over SMTP, in the `X-Loyalty-Message` header.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import socket
from collections.abc import Mapping
from email.utils import formataddr, make_msgid
from typing import Any

import requests
import urllib3.exceptions
from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from loyalty.selectors.programme import programme_settings
from messaging.models import Channel, ChannelSettings
from messaging.webhooks.addresses import address_refusal, webhooks_development

from .base import Outgoing, Provider, ProviderError, Sent, provider_register

logger = logging.getLogger(__name__)

Providers = ChannelSettings.EmailProvider

BACKENDS: dict[str, str] = {
    Providers.SMTP: "django.core.mail.backends.smtp.EmailBackend",
    Providers.MAILGUN: "anymail.backends.mailgun.EmailBackend",
    Providers.SENDGRID: "anymail.backends.sendgrid.EmailBackend",
    Providers.AMAZON_SES: "anymail.backends.amazon_ses.EmailBackend",
    Providers.BREVO: "anymail.backends.brevo.EmailBackend",
}

# What a brand's `email_credentials` may hold per provider (other keys are ignored: the API
# address, for one, is the platform's setting, not the brand's). The webhook keys are read by
# `messaging.hooks_email`, the others given to the backend.
CREDENTIAL_KEYS: dict[str, frozenset[str]] = {
    Providers.SMTP: frozenset({"host", "port", "username", "password", "use_tls", "use_ssl"}),
    # region: "eu" for Mailgun's EU servers.
    Providers.MAILGUN: frozenset({"api_key", "sender_domain", "region", "webhook_signing_key"}),
    Providers.SENDGRID: frozenset({"api_key", "webhook_verification_key"}),
    Providers.AMAZON_SES: frozenset({"session_params", "client_params", "configuration_set_name"}),
    Providers.BREVO: frozenset({"api_key"}),
}
WEBHOOK_KEYS = frozenset({"webhook_signing_key", "webhook_verification_key"})

# The header carrying "<schema>:<message id>" where metadata cannot (SMTP).
MESSAGE_HEADER = "X-Loyalty-Message"


def email_sender(channel_settings: ChannelSettings) -> str:
    """The brand's sender: its name (the programme's by default) and address (the platform's
    no-reply address by default), as a From header."""
    name = channel_settings.email_from_name or programme_settings().programme_name
    address = channel_settings.email_from_address or settings.DEFAULT_FROM_EMAIL
    return formataddr((" ".join(name.split()), address))


def _smtp_options(options: dict[str, Any]) -> dict[str, Any]:
    """A brand's SMTP server, every setting explicit: a missing one must never fall back on the
    platform's own relay and its password (Django's SMTP backend reads `EMAIL_HOST`,
    `EMAIL_HOST_USER`... for what it is not given), and the host must be a public one (a brand
    naming 127.0.0.1 or a private address would reach the platform's network)."""
    host = str(options.get("host") or "").strip()
    if not host:
        raise ImproperlyConfigured("the SMTP server's host is missing")
    if not webhooks_development():
        try:
            found = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
        except (OSError, UnicodeError) as error:
            raise ImproperlyConfigured(f"the SMTP host {host!r} does not resolve: {error}") from error
        for address in found:
            refusal = address_refusal(ipaddress.ip_address(address.split("%")[0]))
            if refusal:
                raise ImproperlyConfigured(f"the SMTP host {host!r} is {refusal} ({address})")
    use_ssl, use_tls = bool(options.get("use_ssl")), bool(options.get("use_tls"))
    return {
        "host": host,
        "port": int(options.get("port") or (465 if use_ssl else 587 if use_tls else 25)),
        "username": str(options.get("username") or ""),
        "password": str(options.get("password") or ""),
        "use_tls": use_tls,
        "use_ssl": use_ssl,
        "ssl_keyfile": None,
        "ssl_certfile": None,
    }


def _ses_options(options: dict[str, Any]) -> dict[str, Any]:
    """Amazon SES with the brand's own keys only: without them boto3 would take the platform's
    AWS identity (its default credential chain), and a client's `endpoint_url` could point anywhere."""
    session = options.get("session_params") or {}
    if not (
        isinstance(session, dict)
        and session.get("aws_access_key_id")
        and session.get("aws_secret_access_key")
    ):
        raise ImproperlyConfigured(
            "session_params needs the brand's aws_access_key_id and aws_secret_access_key"
        )
    client = options.get("client_params") or {}
    region = client.get("region_name") if isinstance(client, dict) else None
    return {
        **options,
        "session_params": {
            key: session[key]
            for key in ("aws_access_key_id", "aws_secret_access_key", "region_name")
            if key in session
        },
        "client_params": {"region_name": region} if region else {},
    }


def email_connection_options(channel_settings: ChannelSettings) -> dict[str, Any]:
    """The backend's options from the brand's credentials and the platform's settings. Raises
    ImproperlyConfigured for credentials that are incomplete or would reach what is not the
    brand's (`_smtp_options`, `_ses_options`)."""
    provider = channel_settings.email_provider
    given: Mapping[str, Any] = channel_settings.email_credentials or {}
    options = {key: value for key, value in given.items() if key in CREDENTIAL_KEYS[provider]}
    for key in WEBHOOK_KEYS:
        options.pop(key, None)
    timeout = settings.EMAIL_PROVIDER_TIMEOUT
    if provider == Providers.SMTP:
        return {**_smtp_options(options), "timeout": timeout}
    if provider == Providers.AMAZON_SES:
        options = _ses_options(options)
    region = options.pop("region", "")
    if provider == Providers.MAILGUN and region == "eu":
        options["api_url"] = settings.EMAIL_API_URLS["mailgun-eu"]
    elif provider in settings.EMAIL_API_URLS:
        options["api_url"] = settings.EMAIL_API_URLS[provider]
    if provider != Providers.AMAZON_SES:
        options["requests_timeout"] = timeout
    return options


def email_configured(channel_settings: ChannelSettings) -> bool:
    """Whether the brand names an e-mail provider we have a backend for, and gave its credentials."""
    return channel_settings.email_provider in BACKENDS and bool(channel_settings.email_credentials)


def email_connection(channel_settings: ChannelSettings) -> BaseEmailBackend | None:
    """A connection to the brand's provider, or None when it has none (the development outbox).
    Raises ImproperlyConfigured when the credentials lack what the backend needs."""
    if not email_configured(channel_settings):
        return None
    return get_connection(
        BACKENDS[channel_settings.email_provider],
        fail_silently=False,
        **email_connection_options(channel_settings),
    )


def _requests_error(error: AnymailRequestsAPIError) -> ProviderError:
    """An HTTP API's error: whether the provider may have the message, or a retry may work."""
    status = getattr(error, "status_code", None)
    text = str(error)
    if status is not None:
        if 200 <= status < 300:  # an answer we cannot read: it may have been accepted
            return ProviderError(text, maybe_sent=True)
        return ProviderError(text, retry=status >= 500 or status == 429)
    cause = error.__cause__
    reason = getattr(cause.args[0], "reason", None) if cause is not None and cause.args else None
    if isinstance(cause, requests.ConnectTimeout) or isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
    ):
        return ProviderError(text, retry=True)  # never connected: nothing left
    return ProviderError(text, maybe_sent=True)  # timed out or cut off after the request left


def _smtp_refused(error: smtplib.SMTPResponseException) -> ProviderError:
    return ProviderError(f"SMTP {error.smtp_code}: {error.smtp_error!r}", retry=400 <= error.smtp_code < 500)


class EmailProvider(Provider):
    """The brand's e-mail provider: one message, text and HTML parts, through its connection."""

    def __init__(self, channel_settings: ChannelSettings) -> None:
        self.channel_settings = channel_settings
        self.name = channel_settings.email_provider
        self.sender = email_sender(channel_settings)

    def send(self, outgoing: Outgoing) -> Sent:
        try:
            connection = email_connection(self.channel_settings)
        except (ImproperlyConfigured, ImportError, TypeError) as error:
            raise ProviderError(f"the {self.name} settings are incomplete: {error}") from error
        if connection is None:
            raise ProviderError("no e-mail provider configured")
        headers = dict(outgoing.headers)
        message = EmailMultiAlternatives(
            subject=outgoing.subject,
            body=outgoing.body,
            from_email=self.sender,
            to=[outgoing.recipient],
            headers=headers,
            connection=connection,
        )
        if outgoing.html:
            message.attach_alternative(outgoing.html, "text/html")
        if self.name == Providers.SMTP:
            return self._send_smtp(message, outgoing)
        message.metadata = {"message_id": str(outgoing.message_id), "schema": outgoing.schema_name}  # type: ignore[attr-defined]
        message.tags = [outgoing.purpose]  # type: ignore[attr-defined]
        try:
            message.send()
        except AnymailRequestsAPIError as error:
            raise _requests_error(error) from error
        except AnymailRecipientsRefused as error:
            raise ProviderError(str(error)) from error
        except (AnymailError, ImproperlyConfigured, ValueError, TypeError) as error:
            # Refused before anything was sent: an address, a setting, a feature the ESP lacks.
            raise ProviderError(str(error)) from error
        status = message.anymail_status  # type: ignore[attr-defined]
        return Sent(provider=self.name, provider_id=status.message_id or "")

    def _send_smtp(self, message: EmailMultiAlternatives, outgoing: Outgoing) -> Sent:
        domain = self.sender.rpartition("@")[2].rstrip(">") or None
        message_id = make_msgid(idstring=str(outgoing.message_id), domain=domain)
        message.extra_headers["Message-ID"] = message_id
        message.extra_headers[MESSAGE_HEADER] = f"{outgoing.schema_name}:{outgoing.message_id}"
        connection = message.get_connection()
        try:
            connection.open()
        except smtplib.SMTPAuthenticationError as error:
            raise _smtp_refused(error) from error
        except (OSError, smtplib.SMTPException) as error:
            raise ProviderError(f"SMTP connection: {error}", retry=True) from error
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise ProviderError(
                f"SMTP refused the recipient: {error.recipients!r}",
                retry=all(400 <= code < 500 for code in codes),
            ) from error
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            raise _smtp_refused(error) from error
        except ValueError as error:  # BadHeaderError and the like: refused before anything left
            raise ProviderError(f"SMTP: {error}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise ProviderError(f"SMTP: {error}", maybe_sent=True) from error
        finally:
            connection.close()
        return Sent(provider=self.name, provider_id=message_id.strip("<>"))


def email_provider_for(channel_settings: ChannelSettings) -> Provider | None:
    """The brand's e-mail provider, or None (the development outbox) without one or its credentials."""
    return EmailProvider(channel_settings) if email_configured(channel_settings) else None


provider_register(channel=Channel.EMAIL, factory=email_provider_for)
