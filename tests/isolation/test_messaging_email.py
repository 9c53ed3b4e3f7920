"""Tenant isolation of e-mail: brand A's unsubscribe link and A's tracking webhooks do nothing on
brand B's host, even for a member or a message with the same id there."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

from django.db import connection
from django.test import Client

from loyalty.models import Consent, ConsentChange
from loyalty.services.members import consent_set
from messaging.models import ChannelSettings, Message
from messaging.services.sending import message_queue
from tests.conftest import host_of
from tests.factories import member_make, template_make

SECRET = "hooks:same-secret-on-both"


def _brand_with_a_message(brand, email: str) -> tuple[int, Message]:
    connection.set_tenant(brand)
    ChannelSettings.objects.update_or_create(
        id=1,
        defaults={
            "email_provider": "mailgun",
            "email_credentials": {"api_key": "key-iso", "webhook_signing_key": "sign-iso"},
            "email_webhook_secret": SECRET,
        },
    )
    member = member_make(email=email, language="en")
    consent_set(member=member, consents={"email": True}, source="test")
    template_make("news", channel="email", subject="News", body="Hello")
    message = message_queue(member=member, channel="email", template_code="news")
    Message.objects.filter(pk=message.pk).update(state=Message.State.SENT, provider_id="<m@mg>")
    return member.pk, message


def _email_consent(brand, member_id: int) -> bool:
    connection.set_tenant(brand)
    return Consent.objects.get(member_id=member_id, channel="email").granted


def test_an_unsubscribe_link_of_brand_a_is_a_404_on_brand_b(brand_a, brand_b, db):
    a_member, a_message = _brand_with_a_message(brand_a, "same@example.com")
    path = re.search(r'href="https?://[^/"]+(/u/[^"]+/)"', a_message.html).group(1)
    b_member, _ = _brand_with_a_message(brand_b, "same@example.com")
    site_b = Client(HTTP_HOST=host_of(brand_b))
    assert site_b.get(path).status_code == 404
    assert (
        site_b.post(
            path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 404
    )
    assert _email_consent(brand_b, b_member) is True and _email_consent(brand_a, a_member) is True
    connection.set_tenant(brand_b)
    assert not ConsentChange.objects.filter(source="unsubscribe link").exists()


def _mailgun_event(message: Message, schema: str, *, key: str = "sign-iso") -> bytes:
    """Mailgun's webhook body for a permanent failure of `message`, signed with `key`."""
    timestamp, token = str(int(time.time())), "tok-" + str(message.pk)
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    data = {
        "event": "failed",
        "severity": "permanent",
        "timestamp": time.time(),
        "recipient": message.recipient,
        "message": {"headers": {"message-id": "m@mg"}},
        "user-variables": {"message_id": str(message.pk), "schema": schema},
    }
    return json.dumps(
        {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": data}
    ).encode()


def test_a_tracking_event_of_brand_a_changes_nothing_on_brand_b(brand_a, brand_b, db):
    # Both brands use the same Mailgun account and webhook secret: only our metadata tells them apart.
    a_member, a_message = _brand_with_a_message(brand_a, "twin@example.com")
    b_member, b_message = _brand_with_a_message(brand_b, "twin@example.com")
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    site_b = Client(HTTP_HOST=host_of(brand_b))
    for message_id in (a_message.pk, b_message.pk):  # A's id, and B's id under A's schema
        a_message.pk = message_id
        answer = site_b.post(
            "/hooks/email/mailgun/tracking/",
            _mailgun_event(a_message, brand_a.schema_name),
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
        )
        assert answer.status_code == 200
    assert _email_consent(brand_b, b_member) is True and _email_consent(brand_a, a_member) is True
    connection.set_tenant(brand_b)
    assert Message.objects.get(pk=b_message.pk).state == Message.State.SENT
    # B's own event on B's host does settle B's message (the check above is not a dead hook).
    answer = site_b.post(
        "/hooks/email/mailgun/tracking/",
        _mailgun_event(b_message, brand_b.schema_name),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert answer.status_code == 200 and _email_consent(brand_b, b_member) is False
    assert _email_consent(brand_a, a_member) is True


def test_a_webhook_signed_with_brand_as_key_is_refused_on_brand_b(brand_a, brand_b, db):
    _brand_with_a_message(brand_a, "key@example.com")
    b_member, b_message = _brand_with_a_message(brand_b, "key@example.com")
    connection.set_tenant(brand_b)
    ChannelSettings.objects.filter(id=1).update(
        email_credentials={"api_key": "k", "webhook_signing_key": "b-own"}
    )
    answer = Client(HTTP_HOST=host_of(brand_b)).post(
        "/hooks/email/mailgun/tracking/",
        _mailgun_event(b_message, brand_b.schema_name, key="sign-iso"),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(SECRET.encode()).decode(),
    )
    assert answer.status_code == 403 and _email_consent(brand_b, b_member) is True
