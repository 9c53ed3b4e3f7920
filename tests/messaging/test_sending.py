"""A message's life through the real sending service: queued, sent once, settled by its provider's
word; the checks that skip it; and a crash between the provider call and the state change."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from core.errors import InvalidInput, NotFound
from loyalty.selectors.programme import programme_settings
from loyalty.services.members import consent_set, member_anonymise
from messaging.models import Message
from messaging.providers.base import Outgoing, Provider, ProviderError, Sent, provider_register
from messaging.services.sending import (
    SENDING_TIMEOUT,
    message_build,
    message_queue,
    message_send,
    message_status_apply,
    messages_sending_expire,
)
from messaging.tasks import messages_sending_expire_all_task
from tests.factories import member_make, template_make
from tests.support import SENDING_HOURS

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def _in_sending_hours():
    """Marketing SMS and calls wait outside their sending hours (`messaging.policy`)."""
    with time_machine.travel(SENDING_HOURS, tick=True):
        yield


def _member(**extra):
    values = {
        "first_name": "Camille",
        "phone": "+33612345678",
        "email": "camille@example.com",
        "language": "en",
    }
    member = member_make(**{**values, **extra})
    consent_set(member=member, consents={"sms": True, "email": True}, source="test")
    return member


def test_a_queued_message_is_rendered_and_sent_to_the_development_outbox(in_a):
    member = _member()
    template_make("hello", body="Hello {{ first_name }}, you have {{ balance }} points.", purpose="service")
    message = message_queue(member=member, channel="sms", template_code="hello")
    assert message.state == Message.State.QUEUED
    assert message.body == "Hello Camille, you have 0 points."
    assert message.recipient == "+33612345678"

    result = message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    assert result is not None and message.state == Message.State.DELIVERED
    assert message.provider == "outbox" and message.provider_id == f"outbox-{message.pk}"
    assert message.attempts == 1 and message.sent_at is not None
    # A second copy of the task (the sweeper, a redelivery) sends nothing.
    assert message_send(message_id=message.pk, attempts=0) is None
    assert message_send(message_id=message.pk, attempts=1) is None


def test_marketing_needs_consent_and_an_opt_out_stops_even_service_messages(in_a):
    member = member_make(phone="+33612345679", language="en")
    template_make("promo", body="Promo", purpose="marketing")
    template_make("shipped", body="Shipped", purpose="service")
    assert message_build(member=member, channel="sms", template_code="promo").skip_reason == "no_consent"
    assert message_build(member=member, channel="sms", template_code="shipped").state == Message.State.QUEUED
    consent_set(member=member, consents={"sms": False}, source="sms STOP")
    assert message_build(member=member, channel="sms", template_code="shipped").skip_reason == "opted_out"


def test_a_member_without_a_phone_is_skipped_with_a_reason(in_a):
    member = member_make(language="en")
    consent_set(member=member, consents={"sms": True}, source="test")
    template_make("promo", body="Promo")
    message = message_queue(member=member, channel="sms", template_code="promo")
    assert (message.state, message.skip_reason) == (Message.State.SKIPPED, "no_phone")
    assert message.requeue_at is None
    assert message_send(message_id=message.pk, attempts=0) is None


def test_consent_withdrawn_while_queued_skips_at_send_time(in_a):
    member = _member()
    template_make("promo", body="Promo")
    message = message_queue(member=member, channel="sms", template_code="promo")
    consent_set(member=member, consents={"sms": False}, source="web form")
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    assert (message.state, message.skip_reason) == (Message.State.SKIPPED, "opted_out")
    assert message.provider_id == ""


def test_blocked_members_receive_nothing(in_a):
    member = _member()
    template_make("promo", body="Promo")
    member.status = member.Status.BLOCKED
    member.save()
    assert message_build(member=member, channel="sms", template_code="promo").skip_reason == "member_blocked"


def test_unknown_template_and_a_dedupe_key_used_twice(in_a):
    member = _member()
    with pytest.raises(NotFound):
        message_build(member=member, channel="sms", template_code="nope")
    template_make("earned", body="+{{ points_earned }}")
    first = message_queue(
        member=member,
        channel="sms",
        template_code="earned",
        variables={"points_earned": "200"},
        dedupe_key="k1",
    )
    again = message_queue(
        member=member,
        channel="sms",
        template_code="earned",
        variables={"points_earned": "200"},
        dedupe_key="k1",
    )
    assert first.pk == again.pk and first.body == "+200"
    assert Message.objects.filter(dedupe_key="k1").count() == 1


def test_a_template_in_the_members_language_is_chosen_then_the_default(in_a):
    template_make("hello", language="fr", body="Bonjour")
    template_make("hello", language="en", body="Hello")
    assert (
        message_build(member=_member(language="fr"), channel="sms", template_code="hello").body == "Bonjour"
    )
    de = member_make(phone="+33612345670", language="de")
    consent_set(member=de, consents={"sms": True}, source="test")
    default = programme_settings().default_language
    assert (
        message_build(member=de, channel="sms", template_code="hello").body
        == {"fr": "Bonjour", "en": "Hello"}[default]
    )


def test_a_broken_template_stored_by_hand_is_refused_naming_the_template(in_a):
    template_make("bad", body="{{ secret }}")
    with pytest.raises(InvalidInput) as refused:
        message_build(member=_member(), channel="sms", template_code="bad")
    assert "secret" in str(refused.value.errors["template"])


class _Crash(Exception):
    pass


class _DiesAfterTheCall(Provider):
    """The provider took the message, then the worker died before writing it down."""

    name = "dies"

    def send(self, outgoing: Outgoing) -> Sent:
        raise _Crash


def test_a_crash_after_the_provider_call_ends_unknown_never_resent_and_the_callback_settles_it(in_a):
    member = _member()
    template_make("promo", body="Promo", channel="voice")
    consent_set(member=member, consents={"voice": True}, source="test")
    message = message_queue(member=member, channel="voice", template_code="promo")
    provider_register(channel="voice", factory=lambda settings: _DiesAfterTheCall())
    try:
        with pytest.raises(_Crash):
            message_send(message_id=message.pk, attempts=0)
    finally:
        provider_register(channel="voice", factory=lambda settings: None)
    message.refresh_from_db()
    assert message.state == Message.State.SENDING
    # Not claimed again, by any copy of the task.
    assert message_send(message_id=message.pk, attempts=0) is None
    assert message_send(message_id=message.pk, attempts=1) is None
    assert messages_sending_expire(now=timezone.now() + SENDING_TIMEOUT - timedelta(seconds=5)) == 0
    assert messages_sending_expire(now=timezone.now() + SENDING_TIMEOUT + timedelta(seconds=5)) == 1
    message.refresh_from_db()
    assert message.state == Message.State.UNKNOWN
    # The provider's late word, carrying our id, settles it; an older word after it changes nothing.
    message_status_apply(
        message_id=message.pk, state="delivered", provider_id="CA123", provider_status="completed"
    )
    message_status_apply(
        message_id=message.pk, state="sent", provider_id="CA123", provider_status="in-progress"
    )
    message.refresh_from_db()
    assert (message.state, message.provider_id, message.provider_status) == (
        "delivered",
        "CA123",
        "completed",
    )


class _Refuses(Provider):
    name = "refuses"

    def __init__(self, error: ProviderError) -> None:
        self.error = error

    def send(self, outgoing: Outgoing) -> Sent:
        raise self.error


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (ProviderError("timeout after the request left", maybe_sent=True), "unknown"),
        (ProviderError("connection refused", retry=True), "queued"),
        (ProviderError("invalid number"), "failed"),
    ],
)
def test_a_provider_error_ends_unknown_queued_again_or_failed(in_a, error, state):
    member = _member()
    template_make("promo", body="Promo")
    message = message_queue(member=member, channel="sms", template_code="promo")
    provider_register(channel="sms", factory=lambda settings: _Refuses(error))
    try:
        result = message_send(message_id=message.pk, attempts=0)
    finally:
        provider_register(channel="sms", factory=lambda settings: None)
    assert result is not None
    message.refresh_from_db()
    assert message.state == state and message.error == str(error)
    if state == "queued":
        assert message.not_before > timezone.now() and message.attempts == 1


def test_a_status_for_another_provider_id_or_an_unknown_state_changes_nothing(in_a):
    member = _member()
    template_make("promo", body="Promo")
    message = message_queue(member=member, channel="sms", template_code="promo")
    message_status_apply(message_id=message.pk, state="sent", provider_id="SM1")
    message_status_apply(message_id=message.pk, state="delivered", provider_id="SM2")
    message.refresh_from_db()
    assert (message.state, message.provider_id) == ("sent", "SM1")
    with pytest.raises(InvalidInput):
        message_status_apply(message_id=message.pk, state="exploded")
    assert message_status_apply(message_id=10**9, state="sent") is None


def test_an_error_before_anything_left_queues_the_message_again_not_unknown(in_a):
    member = _member()
    template_make("promo", body="Promo")
    message = message_queue(member=member, channel="sms", template_code="promo")

    def broken(settings):
        raise RuntimeError("the provider's settings could not be read")

    provider_register(channel="sms", factory=broken)
    try:
        result = message_send(message_id=message.pk, attempts=0)
    finally:
        provider_register(channel="sms", factory=lambda settings: None)
    message.refresh_from_db()
    assert result is not None and message.state == Message.State.QUEUED
    assert "could not be prepared" in message.error and message.not_before > timezone.now()
    assert message.attempts == 1


def test_anonymising_a_member_erases_their_messages_contact_details_and_texts(in_a):
    member = _member(first_name="Secret")
    template_make("hello", body="Hello {{ first_name }}", purpose="service")
    sent = message_queue(member=member, channel="sms", template_code="hello")
    message_send(message_id=sent.pk, attempts=0)
    waiting = message_queue(member=member, channel="sms", template_code="hello")
    member_anonymise(member=member, by=None, reason="GDPR request")
    rows = {row.pk: row for row in Message.objects.filter(member=member)}
    assert {(row.recipient, row.body, row.subject, row.html) for row in rows.values()} == {("", "", "", "")}
    assert rows[sent.pk].state == Message.State.DELIVERED  # what happened stays
    assert rows[waiting.pk].state == Message.State.CANCELLED and rows[waiting.pk].requeue_at is None
    assert message_send(message_id=waiting.pk, attempts=0) is None


def test_the_beat_marks_unknown_only_in_brands_holding_a_stale_send(
    in_a, brand_b, django_assert_max_num_queries
):
    member = _member()
    template_make("promo", body="Promo")
    stale = message_queue(member=member, channel="sms", template_code="promo")
    fresh = message_queue(member=member, channel="sms", template_code="promo")
    now = timezone.now()
    Message.objects.filter(pk=stale.pk).update(state="sending", sending_at=now - SENDING_TIMEOUT * 2)
    Message.objects.filter(pk=fresh.pk).update(state="sending", sending_at=now)
    # The brands are looked at in one statement, then only A's schema is written.
    with django_assert_max_num_queries(6):
        assert messages_sending_expire_all_task() == 1
    connection.set_tenant(in_a)
    assert Message.objects.get(pk=stale.pk).state == "unknown"
    assert Message.objects.get(pk=fresh.pk).state == "sending"
