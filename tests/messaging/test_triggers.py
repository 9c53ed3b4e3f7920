"""Triggers through the real services: each kind fires once with its variables (an event through
`event_record`, a batch, an order placed then shipped, a tier change, a new member, points expiring
and an activation code left unused under time-machine, `trigger_fire`), nothing when off, once
when fired again, and no query when nothing is on."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.services import RedeemItem, ShippingAddress, order_place, order_status_set
from core.errors import InvalidInput
from loyalty.models import ActivationCode, LedgerEntry, ProgrammeSettings, Tier
from loyalty.services.activation import activation_code_issue
from loyalty.services.events import EventInput, event_record, events_record_batch
from loyalty.services.members import consent_set, member_upsert
from loyalty.services.rules import rule_create
from loyalty.signals import MemberChange, PointsChange, TierChange, points_changed
from messaging import triggers
from messaging.models import Message, MessageTemplate, Trigger
from messaging.triggers import trigger_fire, trigger_put, triggers_due_fire
from tenants.selectors import brand_timezone
from tests.catalog.factories import ADDRESS, gift_make
from tests.factories import credit_make, member_make, template_make

pytestmark = pytest.mark.django_db(transaction=False)
PER_EURO = {"name": "per euro", "event_type": "purchase", "award_type": "per_amount", "points_per_unit": "1"}


@contextmanager
def committed(capture):
    """Run what waits for the commit of the writes inside (the signals' sends) once they are done,
    as a real commit does; the sends they queue in turn stay in the test's transaction."""
    with capture(execute=False) as hooks:
        yield
    for hook in hooks:
        hook()


def _member(external_id: str, **extra):
    values = {"first_name": "Camille", "phone": "+33612345678", "language": "en", **extra}
    member = member_make(external_id, **values)
    consent_set(member=member, consents={"sms": True}, source="test")
    return member


def _on(kind: str, body: str, *, code: str | None = None, days: int | None = None, active: bool = True):
    code = code or kind.replace("_", "-")
    template_make(code, body=body, purpose="service")
    trigger, _ = trigger_put(
        kind=kind, channel="sms", data={"template_code": code, "is_active": active, "days": days}
    )
    return trigger


def _event(member: str, key: str, amount: str) -> EventInput:
    return EventInput(
        member=member,
        type="purchase",
        occurred_at=timezone.now() - timedelta(minutes=1),
        attributes={"amount": amount, "currency": "EUR"},
        idempotency_key=key,
    )


def _sent(kind: str) -> list[Message]:
    return list(Message.objects.filter(trigger=kind).order_by("id"))


def test_points_earned_fires_once_per_entry_with_the_points(in_a, django_capture_on_commit_callbacks):
    rule_create(data=PER_EURO)
    member = _member("earner")
    _on("points_earned", "{{ first_name }}: +{{ points_earned }} points, {{ balance }} in all")
    sent = _event("earner", "e-1", "1250.00")
    with committed(django_capture_on_commit_callbacks):
        event_record(data=sent)

    (message,) = _sent("points_earned")
    entry = LedgerEntry.objects.get(member=member, kind="earn")
    assert message.body == "Camille: +1,250 points, 1,250 in all"
    assert (message.channel, message.recipient, message.state) == ("sms", "+33612345678", "queued")
    assert message.dedupe_key == f"points_earned:{entry.pk}:sms"

    # The signal replayed, and the event sent again (a replay writes nothing): still one message.
    change = PointsChange(
        member_id=member.pk,
        kind="earned",
        points=1250,
        balance_after=1250,
        ledger_entry_id=entry.pk,
        event_id=entry.event_id,
    )
    points_changed.send(sender=None, changes=[change])
    with committed(django_capture_on_commit_callbacks):
        assert event_record(data=sent)["replayed"]
    assert len(_sent("points_earned")) == 1


def test_nothing_is_sent_while_a_trigger_is_off(in_a, django_capture_on_commit_callbacks):
    rule_create(data=PER_EURO)
    _member("quiet")
    _on("points_earned", "+{{ points_earned }}", active=False)
    _on("welcome", "Welcome", active=False)
    with committed(django_capture_on_commit_callbacks):
        event_record(data=_event("quiet", "q-1", "10.00"))
        member_upsert(external_id="newcomer", data={"phone": "+33600000001"})
    assert not Message.objects.exists()


def test_a_batch_sends_one_signal_and_one_message_per_member_that_earned(
    in_a, django_capture_on_commit_callbacks
):
    rule_create(data=PER_EURO)
    _member("ann", first_name="Ann")
    _member("bob", first_name="Bob", phone="+33612345679")
    _member("idle", first_name="Idle", phone="+33612345670")
    _on("points_earned", "{{ first_name }} +{{ points_earned }} = {{ balance }}")
    sends = []
    points_changed.connect(lambda sender, changes, **kw: sends.append(changes), weak=False, dispatch_uid="t")
    try:
        with committed(django_capture_on_commit_callbacks):
            events_record_batch(
                items=[
                    _event("ann", "b-1", "5.00"),
                    _event("bob", "b-2", "7.00"),
                    _event("ann", "b-3", "3.00"),
                    _event("idle", "b-4", "0.00"),
                ]
            )
    finally:
        points_changed.disconnect(dispatch_uid="t")
    assert len(sends) == 1 and len(sends[0]) == 3
    assert sorted(message.body for message in _sent("points_earned")) == ["Ann +8 = 8", "Bob +7 = 7"]


def test_an_order_placed_then_shipped_tells_its_gift_number_and_status(
    in_a, django_capture_on_commit_callbacks
):
    member = _member("buyer", language="fr")
    credit_make(member, 1000)
    gift = gift_make(name="Mug", points_price=100, stock=10)
    _on("order_status_changed", "{{ order_number }} {{ gift }} : {{ order_status }}")
    with committed(django_capture_on_commit_callbacks):
        order, _ = order_place(
            member_id=member.pk,
            items=[RedeemItem(gift_id=gift.pk, quantity=2)],
            shipping=ShippingAddress(**ADDRESS),
            idempotency_key="o-1",
            actor="member",
        )
    with committed(django_capture_on_commit_callbacks):
        order_status_set(order_id=order.pk, status="confirmed", actor="staff:1")
    with committed(django_capture_on_commit_callbacks):
        order_status_set(order_id=order.pk, status="shipped", actor="staff:1", tracking_ref="COLIS-1")
        order_status_set(order_id=order.pk, status="shipped", actor="staff:1", tracking_ref="COLIS-1")
    bodies = [message.body for message in _sent("order_status_changed")]
    assert bodies == [
        f"{order.pk} 2 x Mug : Passée",
        f"{order.pk} 2 x Mug : Confirmée",
        f"{order.pk} 2 x Mug : Expédiée",
    ]
    events = list(order.events.order_by("id").values_list("id", flat=True))
    keys = [message.dedupe_key for message in _sent("order_status_changed")]
    assert keys == [f"order_status_changed:{event}:sms" for event in events]


def test_a_tier_change_sends_the_new_tier(in_a, django_capture_on_commit_callbacks):
    ProgrammeSettings.objects.filter(id=1).update(tier_metric="points_earned", tier_window="lifetime")
    Tier.objects.create(code="gold", name="Gold", threshold=Decimal("100"))
    rule_create(data=PER_EURO)
    _member("climber")
    _on("tier_changed", "You are now {{ tier }}")
    with committed(django_capture_on_commit_callbacks):
        event_record(data=_event("climber", "t-1", "50.00"))
    assert _sent("tier_changed") == []
    with committed(django_capture_on_commit_callbacks):
        event_record(data=_event("climber", "t-2", "60.00"))
    (message,) = _sent("tier_changed")
    assert message.body == "You are now Gold"


def test_a_new_member_is_welcomed_once(in_a, django_capture_on_commit_callbacks):
    _on("welcome", "Welcome {{ first_name }} to {{ programme_name }}")
    with committed(django_capture_on_commit_callbacks):
        member, _ = member_upsert(external_id="fresh", data={"first_name": "Lou", "phone": "+33611111111"})
    with committed(django_capture_on_commit_callbacks):
        member_upsert(external_id="fresh", data={"first_name": "Louise"})
    (message,) = _sent("welcome")
    assert message.body.startswith("Welcome Lou to ")
    assert (message.member_id, message.dedupe_key) == (member.pk, f"welcome:{member.pk}:sms")


def test_points_expiring_in_n_days_once_a_day_per_member(in_a, time_machine):
    tz = brand_timezone()
    time_machine.move_to(datetime(2027, 3, 1, 9, 0, tzinfo=tz))
    now = timezone.now()
    member = _member("saver")
    other = _member("later", phone="+33612345671")
    due = datetime.combine(now.astimezone(tz).date() + timedelta(days=7), time(23, 59), tzinfo=tz)
    credit_make(member, 300, at=now - timedelta(days=300), expires_at=due)
    credit_make(member, 200, at=now - timedelta(days=200), expires_at=due - timedelta(hours=10))
    credit_make(other, 50, at=now, expires_at=due + timedelta(days=1))
    _on("points_expiring", "{{ points_expiring }} points expire on {{ expiry_date }}", days=7)

    assert triggers_due_fire(now=now) == 1
    assert triggers_due_fire(now=now + timedelta(hours=1)) == 0  # the beat, an hour later
    (message,) = _sent("points_expiring")
    assert message.member_id == member.pk
    assert message.body == "500 points expire on March 8, 2027"
    assert message.dedupe_key == f"points_expiring:{member.pk}:2027-03-08:sms"

    time_machine.move_to(datetime(2027, 3, 2, 9, 0, tzinfo=tz))
    assert triggers_due_fire() == 1  # the next day: the other member's points, due a day later
    assert [m.member_id for m in _sent("points_expiring")] == [member.pk, other.pk]


def test_an_activation_code_unused_after_n_days_is_reminded_once(in_a, time_machine):
    time_machine.move_to(datetime(2027, 1, 10, 9, 0, tzinfo=brand_timezone()))
    waiting = _member("reseller", postal_code="75002")
    done = _member("active", postal_code="75003", phone="+33612345672")
    activation_code_issue(member=waiting)
    activation_code_issue(member=done)
    ActivationCode.objects.filter(member=done).update(used_at=timezone.now())
    _on("activation_reminder", "Activate your account: {{ activation_url }}", days=5)

    assert triggers_due_fire() == 0
    time_machine.move_to(timezone.now() + timedelta(days=5, minutes=1))
    assert triggers_due_fire() == 1
    assert triggers_due_fire() == 0
    (message,) = _sent("activation_reminder")
    code = ActivationCode.objects.get(member=waiting)
    assert message.member_id == waiting.pk and message.dedupe_key == f"activation_reminder:{code.pk}:sms"
    assert message.body.startswith("Activate your account: http") and message.body.endswith("/activate/")


def test_trigger_fire_for_the_vip_issue(in_a):
    member = _member("vip")
    assert trigger_fire(kind="vip_welcome", member=member, variables={}, dedupe_key="sub-1") == []
    _on("vip_welcome", "Welcome to VIP, {{ first_name }}")
    _on("payment_failed", "Your payment failed", active=False)
    (first,) = trigger_fire(kind="vip_welcome", member=member, variables={}, dedupe_key="sub-1")
    (again,) = trigger_fire(kind="vip_welcome", member=member, variables={}, dedupe_key="sub-1")
    assert first.pk == again.pk and first.body == "Welcome to VIP, Camille"
    assert first.dedupe_key == "vip_welcome:sub-1:sms"
    assert trigger_fire(kind="payment_failed", member=member, variables={}, dedupe_key="pay-1") == []
    with pytest.raises(InvalidInput) as error:
        trigger_fire(kind="vip", member=member, dedupe_key="x")
    assert error.value.field == "kind"


def test_a_template_deleted_after_the_trigger_was_set_logs_and_the_event_stands(
    in_a, caplog, django_capture_on_commit_callbacks
):
    rule_create(data=PER_EURO)
    _member("orphan")
    _on("points_earned", "+{{ points_earned }}", code="gone")
    MessageTemplate.objects.filter(code="gone").delete()
    with committed(django_capture_on_commit_callbacks):
        answer = event_record(data=_event("orphan", "g-1", "10.00"))
    assert answer["points_awarded"] == 10
    assert not Message.objects.exists()
    assert any("not queued" in record.getMessage() for record in caplog.records)


def test_no_query_when_nothing_is_on(in_a, django_assert_num_queries, django_capture_on_commit_callbacks):
    rule_create(data=PER_EURO)
    member = _member("busy")
    _on("points_earned", "+{{ points_earned }}", active=False)
    _on("welcome", "Welcome", active=False)

    def record(key: str) -> int:
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            event_record(data=_event("busy", key, "10.00"))
        return len(queries)

    record("warm-1")  # the programme and the triggers read once for this revision
    with_receivers = record("warm-2")
    for signal, uid, _receiver in triggers.RECEIVERS:
        signal.disconnect(dispatch_uid=uid)
    try:
        without = record("warm-3")
    finally:
        triggers.receivers_connect()
    assert with_receivers == without

    entry = LedgerEntry.objects.filter(member=member).latest("id")
    earned = PointsChange(
        member_id=member.pk,
        kind="earned",
        points=10,
        balance_after=30,
        ledger_entry_id=entry.pk,
        event_id=entry.event_id,
    )
    with django_assert_num_queries(0):
        triggers.points_received(sender=None, changes=[earned])
        triggers.members_received(sender=None, changes=[MemberChange(member_id=member.pk, created=False)])
        triggers.points_received(sender=None, changes=[PointsChange(member.pk, "redeemed", -5, 25, entry.pk)])
    # Not from an event: the revision is read (one query), then the cache answers.
    with django_assert_num_queries(1):
        triggers.tiers_received(sender=None, changes=[TierChange(member.pk, None, None)])


def test_a_trigger_changed_is_read_again(in_a, django_capture_on_commit_callbacks):
    rule_create(data=PER_EURO)
    _member("switch")
    trigger = _on("points_earned", "+{{ points_earned }}", active=False)
    with committed(django_capture_on_commit_callbacks):
        event_record(data=_event("switch", "s-1", "10.00"))
    Trigger.objects.filter(pk=trigger.pk).update(is_active=True)
    with committed(django_capture_on_commit_callbacks):
        event_record(data=_event("switch", "s-2", "20.00"))
    assert [message.body for message in _sent("points_earned")] == ["+20"]
