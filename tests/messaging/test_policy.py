"""The platform's rules (`messaging.policy`) through the real sending service: sending hours in the
brand's timezone (a public holiday, the DST change, a brand's own windows), the cap on marketing
calls, and the rate limit per provider account shared by workers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from loyalty.services.members import consent_set
from messaging.models import ChannelSettings, Message
from messaging.providers import base as providers
from messaging.providers.base import Outgoing, Provider, Sent
from messaging.services.sending import message_build, message_queue, message_send
from tests.factories import member_make, template_make
from tests.support import SENDING_HOURS, run_concurrently

PARIS = ZoneInfo("Europe/Paris")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def paris(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS)


def _member(**extra):
    member = member_make(
        **{
            "first_name": "Camille",
            "phone": "+33612345678",
            "email": "c@example.com",
            "language": "en",
            **extra,
        }
    )
    consent_set(member=member, consents={"sms": True, "voice": True, "email": True}, source="test")
    return member


def _queued_and_sent(*, member, channel: str, code: str) -> Message:
    message = message_queue(member=member, channel=channel, template_code=code)
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    return message


@pytest.mark.django_db
def test_a_marketing_sms_on_saturday_evening_waits_for_monday_then_goes(in_a):
    member = _member()
    template_make("promo", body="Promo")
    with time_machine.travel(paris(2027, 1, 16, 20, 0), tick=False):
        message = message_queue(member=member, channel="sms", template_code="promo")
        assert message.state == Message.State.QUEUED
        assert message.not_before == paris(2027, 1, 18, 8, 0)
        # A copy of its task that runs early (the sweeper) sends nothing and says when to try.
        early = message_send(message_id=message.pk, attempts=0)
        assert early is not None and early.retry_at == paris(2027, 1, 18, 8, 0)
        message.refresh_from_db()
        assert message.state == Message.State.QUEUED and message.attempts == 0
    with time_machine.travel(paris(2027, 1, 18, 8, 0, 1), tick=False):
        message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED


@pytest.mark.django_db
def test_a_public_holiday_holds_marketing_calls_and_sms_not_service_sms(in_a):
    member = _member()
    template_make("promo", channel="voice", body="Promo")
    template_make("promo", channel="sms", body="Promo")
    template_make("shipped", channel="sms", body="Shipped", purpose="service")
    with time_machine.travel(paris(2027, 7, 14, 11, 0), tick=False):  # 14 July, a Wednesday
        call = message_build(member=member, channel="voice", template_code="promo")
        sms = message_build(member=member, channel="sms", template_code="promo")
        service = message_build(member=member, channel="sms", template_code="shipped")
    assert call.not_before == paris(2027, 7, 15, 10, 0)
    assert sms.not_before == paris(2027, 7, 15, 8, 0)
    assert service.not_before is None and service.state == Message.State.QUEUED


@pytest.mark.django_db
def test_the_slot_after_the_dst_change_is_a_wall_clock_time(in_a):
    member = _member()
    template_make("promo", body="Promo")
    # Saturday 28 March 2026, 21:00 CET; clocks go forward that night: Monday 08:00 is CEST.
    with time_machine.travel(paris(2026, 3, 28, 21, 0), tick=False):
        message = message_build(member=member, channel="sms", template_code="promo")
    assert message.not_before == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    with time_machine.travel(paris(2026, 10, 24, 21, 0), tick=False):
        message = message_build(member=member, channel="sms", template_code="promo")
    assert message.not_before == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_calls_never_ring_at_night_whatever_their_purpose_emails_have_no_hours(in_a):
    member = _member()
    template_make("payment-failed", channel="voice", body="Payment failed", purpose="service")
    template_make("news", channel="email", body="News", subject="News")
    with time_machine.travel(paris(2027, 1, 17, 23, 0), tick=False):  # Sunday night
        call = message_build(member=member, channel="voice", template_code="payment-failed")
        email = message_build(member=member, channel="email", template_code="news")
    assert call.not_before == paris(2027, 1, 18, 8, 0)
    assert email.not_before is None and email.state == Message.State.QUEUED
    with time_machine.travel(paris(2026, 12, 25, 12, 0), tick=False):  # Christmas day, noon
        assert (
            message_build(member=member, channel="voice", template_code="payment-failed").not_before is None
        )


@pytest.mark.django_db
def test_a_brands_own_hours_replace_the_defaults_and_are_validated(in_a):
    member = _member()
    template_make("promo", channel="sms", body="Promo")
    template_make("promo", channel="voice", body="Promo")
    settings = ChannelSettings(
        quiet_hours={
            "sms": {
                "windows": [{"days": EVERY_DAY, "start": "00:00", "end": "24:00"}],
                "public_holidays": True,
            },
            "voice": {"windows": [{"days": EVERY_DAY, "start": "22:00", "end": "23:00"}]},
        }
    )
    settings.full_clean()
    settings.save()
    with time_machine.travel(paris(2026, 12, 27, 23, 30), tick=False):  # a Sunday night
        assert message_build(member=member, channel="sms", template_code="promo").not_before is None
        # Calls at 22:00 never meet the night rule: skipped with a reason, not held for ever.
        call = message_build(member=member, channel="voice", template_code="promo")
    assert (call.state, call.skip_reason) == (Message.State.SKIPPED, "no_sending_hours")

    settings.quiet_hours = {"sms": {"windows": [{"days": ["lun"], "start": "8:00", "end": "20:00"}]}}
    with pytest.raises(ValidationError) as refused:
        settings.full_clean()
    errors = refused.value.message_dict["quiet_hours"]
    assert any(error.startswith("sms.windows[0].days:") for error in errors)
    assert any(error.startswith("sms.windows[0].start: '8:00'") for error in errors)


@pytest.mark.django_db
def test_the_fifth_marketing_call_in_30_days_is_skipped_service_calls_are_not_counted(in_a):
    member = _member()
    template_make("promo", channel="voice", body="Promo")
    template_make("payment-failed", channel="voice", body="Payment failed", purpose="service")
    first_day = paris(2027, 1, 4, 11, 0)  # a Monday
    for week in range(4):
        with time_machine.travel(first_day + timedelta(days=7 * week), tick=False):
            assert _queued_and_sent(member=member, channel="voice", code="promo").state == "delivered"
    with time_machine.travel(paris(2027, 2, 1, 11, 0), tick=False):  # day 28
        fifth = message_build(member=member, channel="voice", template_code="promo")
        assert (fifth.state, fifth.skip_reason) == (Message.State.SKIPPED, "frequency_cap")
        # A service call is not capped, and does not count.
        assert _queued_and_sent(member=member, channel="voice", code="payment-failed").state == "delivered"
    # 30 days after the first call, it has left the window.
    with time_machine.travel(first_day + timedelta(days=30, minutes=1), tick=False):
        assert message_build(member=member, channel="voice", template_code="promo").state == "queued"


@pytest.mark.django_db
def test_calls_queued_together_are_capped_when_they_leave(in_a):
    member = _member()
    template_make("promo", channel="voice", body="Promo")
    ChannelSettings.objects.create(marketing_calls_per_30_days=2)
    with time_machine.travel(SENDING_HOURS, tick=False):
        queued = [message_queue(member=member, channel="voice", template_code="promo") for _ in range(3)]
        assert {message.state for message in queued} == {Message.State.QUEUED}
        for message in queued:
            message_send(message_id=message.pk, attempts=0)
    states = [(m.state, m.skip_reason) for m in Message.objects.filter(pk__in=[m.pk for m in queued])]
    assert sorted(states) == [("delivered", ""), ("delivered", ""), ("skipped", "frequency_cap")]


class _Records(Provider):
    """A provider account that takes everything (what reached it is in the message rows)."""

    name = "records"

    def send(self, outgoing: Outgoing) -> Sent:
        return Sent(provider=self.name, provider_id=f"R{outgoing.message_id}")


@pytest.fixture
def sms_account(monkeypatch):
    """SMS go to `_Records` when the brand has Twilio credentials (as the Twilio provider would)."""
    monkeypatch.setitem(
        providers._FACTORIES,
        "sms",
        lambda settings: _Records() if settings.twilio_account_sid else None,
    )


def _send_together(brand, message_ids: list[int]) -> list:
    def send(index: int):
        connection.set_tenant(brand)
        return message_send(message_id=message_ids[index], attempts=0)

    return run_concurrently(len(message_ids), send)


def test_workers_over_the_accounts_rate_wait_for_the_next_seconds(fresh_brand, sms_account):
    connection.set_tenant(fresh_brand)
    template_make("shipped", body="Shipped", purpose="service")
    ChannelSettings.objects.create(
        twilio_account_sid=f"AC{uuid.uuid4().hex}", twilio_auth_token="secret", sends_per_second=2
    )
    members = [_member(phone=f"+3361234560{index}") for index in range(5)]
    messages = [message_build(member=member, channel="sms", template_code="shipped") for member in members]
    for message in messages:
        message.save()
    ids = [message.pk for message in messages]
    now = SENDING_HOURS + timedelta(seconds=0.2)
    with time_machine.travel(now, tick=False):
        results = _send_together(fresh_brand, ids)
    assert not [result for result in results if isinstance(result, Exception)], results
    connection.set_tenant(fresh_brand)
    sent = Message.objects.filter(pk__in=ids, state=Message.State.SENT)
    assert sent.count() == 2 and {m.provider for m in sent} == {"records"}
    waits = sorted(result.retry_at for result in results if result.retry_at is not None)
    second = SENDING_HOURS.astimezone(UTC)
    assert waits == [second + timedelta(seconds=1)] * 2 + [second + timedelta(seconds=2)]
    waiting = Message.objects.filter(pk__in=ids, state=Message.State.QUEUED)
    assert waiting.count() == 3 and all(m.not_before and m.attempts == 0 for m in waiting)
    # In the next second, the two that fit go.
    with time_machine.travel(second + timedelta(seconds=1, milliseconds=100), tick=False):
        later = _send_together(fresh_brand, [m.pk for m in waiting])
    connection.set_tenant(fresh_brand)
    assert sum(1 for result in later if result.retry_at is None) == 2
    assert Message.objects.filter(pk__in=ids, state=Message.State.SENT).count() == 4


def test_messages_held_by_the_sending_hours_spend_none_of_the_rate(fresh_brand, sms_account):
    connection.set_tenant(fresh_brand)
    template_make("promo", body="Promo", purpose="marketing")
    template_make("shipped", body="Shipped", purpose="service")
    ChannelSettings.objects.create(
        twilio_account_sid=f"AC{uuid.uuid4().hex}", twilio_auth_token="secret", sends_per_second=1
    )
    night = datetime(2027, 1, 12, 21, 30, tzinfo=PARIS)  # marketing SMS wait for 08:00
    with time_machine.travel(night, tick=False):
        held = [
            message_queue(member=_member(phone=f"+3361234562{i}"), channel="sms", template_code="promo")
            for i in range(3)
        ]
        for message in held:
            assert message_send(message_id=message.pk, attempts=0).retry_at.astimezone(PARIS).hour == 8
        shipped = message_queue(member=_member(phone="+33612345629"), channel="sms", template_code="shipped")
        result = message_send(message_id=shipped.pk, attempts=0)
    assert result.retry_at is None and result.message.state == Message.State.SENT


def test_the_development_outbox_has_no_rate_limit(fresh_brand, sms_account):
    connection.set_tenant(fresh_brand)
    template_make("shipped", body="Shipped", purpose="service")
    ChannelSettings.objects.create(sends_per_second=1)  # no credentials: the outbox
    messages = [
        message_build(member=_member(phone=f"+3361234561{i}"), channel="sms", template_code="shipped")
        for i in range(3)
    ]
    for message in messages:
        message.save()
    with time_machine.travel(SENDING_HOURS, tick=False):
        results = _send_together(fresh_brand, [message.pk for message in messages])
    assert [result.message.state for result in results] == ["delivered"] * 3
