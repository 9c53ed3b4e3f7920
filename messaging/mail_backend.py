"""The project's EMAIL_BACKEND: the member site's own e-mails (sign-up verification, invitations,
password resets: Django's `send_mail` and `EmailMessage.send()`) go through the brand's e-mail
provider and sender when the brand configured one (`messaging.providers.email`), else through
`EMAIL_PLATFORM_BACKEND` (files under var/mail/ in development), as on the platform's domain.

A message sent from the default address (`DEFAULT_FROM_EMAIL`, what `send_mail(..., None, ...)`
uses) gets the brand's sender; a message naming its own sender keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django_tenants.utils import get_public_schema_name

from messaging.providers.email import email_connection, email_sender
from messaging.selectors.templates import channel_settings_get
from tenants.selectors import schema_current

logger = logging.getLogger(__name__)


class BrandEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        brand_connection = None
        if schema_current() != get_public_schema_name():
            channel_settings = channel_settings_get()
            try:
                brand_connection = email_connection(channel_settings)
            except (ImproperlyConfigured, ImportError, TypeError) as error:
                # A reset link must still leave: the platform's sender takes it.
                logger.warning("the brand's e-mail settings are incomplete (%s): platform backend", error)
            if brand_connection is not None:
                sender = email_sender(channel_settings)
                for message in email_messages:
                    if message.from_email == settings.DEFAULT_FROM_EMAIL:
                        message.from_email = sender
        connection = brand_connection or get_connection(
            settings.EMAIL_PLATFORM_BACKEND, fail_silently=self.fail_silently
        )
        return connection.send_messages(list(email_messages)) or 0
