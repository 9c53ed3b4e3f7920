"""Twilio's callbacks of one brand change nothing of another: a status or a STOP for brand A's
message or member sent to brand B's host is refused (403: B's account did not sign it for B's host)
or finds nothing in B's schema (404), and A's message and consents stay as they were."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.models import Consent
from loyalty.services.members import consent_set
from messaging.models import Message
from messaging.services.sending import message_queue, message_send
from tests.conftest import host_of
from tests.factories import member_make, template_make
from tests.fakes.twilio import FakeTwilio
from tests.messaging.conftest import fake_twilio, twilio_account, twilio_post  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=False)

PHONE = "+33612345678"


@pytest.fixture
def a_sent(in_a, fake_twilio, twilio_account):  # noqa: F811
    """Brand A's SMS, sent through the fake Twilio with A's account."""
    twilio_account(fake_twilio)
    member = member_make(phone=PHONE, language="en")
    consent_set(member=member, consents={"sms": True}, source="test")
    template_make("hello", purpose="service")
    message = message_queue(member=member, channel="sms", template_code="hello")
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    assert message.state == "sent"
    return message


def _b_with_its_own_account(brand_b, twilio_account) -> FakeTwilio:  # noqa: F811
    """Brand B has a Twilio account of its own (another token); the test's schema stays A's."""
    own = FakeTwilio()
    a = connection.tenant
    connection.set_tenant(brand_b)
    twilio_account(own)
    connection.set_tenant(a)
    return own


def test_a_status_of_brand_as_message_on_brand_bs_host_changes_nothing(
    a_sent,
    brand_b,
    fake_twilio,  # noqa: F811
    twilio_account,  # noqa: F811
    twilio_post,  # noqa: F811
):
    a = connection.tenant
    callback = fake_twilio.callback(a_sent.provider_id, "failed", ErrorCode="30003")
    # B has no Twilio account: 403.
    assert twilio_post(callback, host=host_of(brand_b)).status_code == 403
    # B has its own: A's signature is not B's for B's host, 403; signed by B's account for B's
    # host, A's message id finds nothing of B's, 404.
    b_account = _b_with_its_own_account(brand_b, twilio_account)
    assert twilio_post(callback, host=host_of(brand_b)).status_code == 403
    b_url = callback.url.replace(host_of(a), host_of(brand_b))
    assert b_url != callback.url
    b_signed = b_account.signed(b_url, callback.params)
    connection.set_tenant(brand_b)
    assert not Message.objects.filter(pk=a_sent.pk).exists()
    assert twilio_post(b_signed).status_code == 404
    connection.set_tenant(a)
    a_sent.refresh_from_db()
    assert (a_sent.state, a_sent.error) == ("sent", "")


def test_a_stop_from_brand_as_member_on_brand_bs_host_changes_nothing(
    a_sent,
    brand_b,
    fake_twilio,  # noqa: F811
    twilio_account,  # noqa: F811
    twilio_post,  # noqa: F811
):
    a = connection.tenant
    b_account = _b_with_its_own_account(brand_b, twilio_account)
    a_stop = fake_twilio.inbound(f"http://{host_of(a)}/hooks/twilio/inbound/", sender=PHONE, body="STOP")
    assert twilio_post(a_stop, host=host_of(brand_b)).status_code == 403
    b_stop = b_account.inbound(f"http://{host_of(brand_b)}/hooks/twilio/inbound/", sender=PHONE, body="STOP")
    connection.set_tenant(brand_b)
    b_member = member_make(phone=PHONE, language="en")
    consent_set(member=b_member, consents={"sms": True}, source="test")
    assert twilio_post(b_stop).status_code == 200
    # B's member with the same phone said stop to B; A's member did not.
    assert Consent.objects.get(member=b_member, channel="sms").granted is False
    connection.set_tenant(a)
    assert Consent.objects.get(member=a_sent.member, channel="sms").granted is True
