"""GDPR: a member's export holds what every app holds about them; after their erasure, no text or
JSON column of any table of the brand's schema holds their name, e-mail, phone or address, and the
ledger still adds up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from billing.models import Customer, Subscription
from catalog.models import Order
from catalog.services import RedeemItem, ShippingAddress, order_place, order_status_set
from core.audit import audit_as, audit_record
from core.errors import InvalidInput, Refused
from core.models import AuditEntry, Job
from loyalty.models import ConsentChange, LedgerEntry, Member, Signup
from loyalty.rule_examples import POINT_PER_EURO
from loyalty.services.events import EventInput, event_record
from loyalty.services.ledger import points_adjust
from loyalty.services.members import consent_set
from loyalty.services.privacy import member_erase, member_export
from loyalty.services.rules import rule_create
from messaging.models import Message
from messaging.services.sending import message_queue, message_send
from tests.catalog.factories import gift_make
from tests.factories import member_make, sending_hours_open, template_make
from tests.support import assert_invariants

PERSON = {
    "first_name": "Zéphyrine",
    "last_name": "Quatremare",
    "email": "zephyrine.quatremare@example.org",
    "phone": "+33698765432",
    "address_line1": "17 rue des Glycines",
    "address_line2": "Bâtiment Ondine",
    "postal_code": "44190",
    "city": "Clissonville",
    "country": "FR",
    "language": "en",
}
# What must be found nowhere after the erasure (the postal code alone is no one's).
NEEDLES = [
    "Zéphyrine",
    "Quatremare",
    "zephyrine.quatremare",
    "+33698765432",
    "Glycines",
    "Ondine",
    "Clissonville",
]


def _scan(needles: list[str]) -> dict[str, int]:
    """Every text, JSON and text-array column of every table of the current brand's schema that
    holds one of `needles` (any case): {"table.column": rows}."""
    schema = connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE'
              AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')
                   OR c.udt_name IN ('_text', '_varchar'))
            """,
            [schema],
        )
        columns = cursor.fetchall()
        assert len(columns) > 100  # every app's tables are there
        patterns = [f"%{needle}%" for needle in needles]
        found = {}
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text ILIKE ANY(%s)', [patterns]
            )
            if count := cursor.fetchone()[0]:
                found[f"{table}.{column}"] = count
    return found


def _everywhere(brand) -> tuple[Member, object]:
    """A member whose name, e-mail, phone and address are copied into every app's tables."""
    staff = get_user_model().objects.get(username=f"admin@{brand.slug}.example")
    member = member_make("GDPR-1", **PERSON)
    user = get_user_model().objects.create_user(
        username=PERSON["email"], email=PERSON["email"], first_name="Zéphyrine", last_name="Quatremare"
    )
    Member.objects.filter(pk=member.pk).update(user=user)
    Signup.objects.create(
        user=user,
        member=member,
        phone=PERSON["phone"],
        ip_address="198.51.100.7",
        terms_accepted_at=timezone.now(),
        created_at=timezone.now(),
    )
    consent_set(member=member, consents={"sms": True, "email": True}, source="site", ip="198.51.100.7")
    rule_create(data=POINT_PER_EURO)
    event_record(
        data=EventInput(
            member=member.external_id,
            type="purchase",
            occurred_at=timezone.now() - timedelta(minutes=5),
            attributes={
                "amount": "300",
                "currency": "EUR",
                "buyer": "Zéphyrine Quatremare",
                "store": "Nantes",
            },
            idempotency_key="gdpr-purchase",
        )
    )
    points_adjust(
        member_id=member.pk,
        points=50,
        reason="goodwill: Zéphyrine Quatremare called about her parcel",
        staff_user_id=staff.pk,
        idempotency_key="gdpr-adjust",
    )
    gift = gift_make(name="Lamp", points_price=100, stock=5)
    order, _ = order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk, quantity=1)],
        shipping=ShippingAddress(
            name="Zéphyrine Quatremare",
            line1=PERSON["address_line1"],
            line2=PERSON["address_line2"],
            postal_code=PERSON["postal_code"],
            city=PERSON["city"],
            country="FR",
            phone=PERSON["phone"],
        ),
        idempotency_key="gdpr-order",
        actor="member",
    )
    order_status_set(
        order_id=order.pk, status="confirmed", actor="staff:1", note="Mme Quatremare asked to ring twice"
    )
    sending_hours_open("sms")
    template_make("hello", body="Hello {{ first_name }}", purpose="service")
    message_send(message_id=message_queue(member=member, channel="sms", template_code="hello").pk, attempts=0)
    with audit_as(via="command"):
        audit_record(
            action="change", obj=member, before={"email": "z.q@old.example"}, after={"email": PERSON["email"]}
        )
    Job.objects.create(
        kind="loyalty.members_import",
        errors=[{"row": 3, "field": "email", "message": f"{PERSON['email']} is already a member's"}],
    )
    LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(Member),
        object_id=str(member.pk),
        object_repr="Zéphyrine Quatremare",
        action_flag=CHANGE,
        change_message="[]",
    )
    Customer.objects.create(member=member, stripe_customer_id="cus_gdpr1")
    member.refresh_from_db()
    return member, staff


def test_after_an_erasure_no_table_holds_the_person_and_the_ledger_still_sums(in_a):
    member, staff = _everywhere(in_a)
    assert set(_scan(NEEDLES)) >= {"loyalty_member.first_name", "catalog_order.ship_line1", "auth_user.email"}
    balance, entries = member.balance, LedgerEntry.objects.filter(member=member).count()

    with audit_as(via="backoffice", actor=staff):
        member_erase(member=member, by=staff, reason="GDPR request of Zéphyrine Quatremare, by mail")

    assert _scan(NEEDLES) == {}
    member.refresh_from_db()
    assert (member.status, member.balance, member.external_id) == ("anonymised", balance, "GDPR-1")
    assert LedgerEntry.objects.filter(member=member).count() == entries
    assert_invariants(member.pk)
    assert list(ConsentChange.objects.filter(member=member).values_list("granted", "ip_address")) == [
        (True, None),
        (True, None),
    ]
    assert not Customer.objects.filter(member=member).exists()
    assert Order.objects.get(member=member).total_points == 100
    assert Message.objects.get(member=member).body == ""
    erasure = AuditEntry.objects.filter(object_id=str(member.pk), after__gdpr="erasure").get()
    assert (erasure.actor, erasure.reason) == (staff, "GDPR request of [erased], by mail")


def test_the_export_holds_what_each_app_holds(in_a):
    member, _ = _everywhere(in_a)

    export = member_export(member=member)

    apps = export["apps"]
    assert {"billing", "catalog", "clubs", "core", "gatherings", "loyalty", "messaging"} <= set(apps)
    assert apps["loyalty"]["member"]["email"] == PERSON["email"]
    assert apps["loyalty"]["logins"][0]["username"] == PERSON["email"]
    assert {c["channel"] for c in apps["loyalty"]["consent_history"]} == {"sms", "email"}
    assert apps["loyalty"]["events"][0]["attributes"]["buyer"] == "Zéphyrine Quatremare"
    assert [e["kind"] for e in apps["loyalty"]["ledger"]] == ["earn", "adjust", "redeem"]
    assert apps["catalog"]["orders"][0]["shipping"]["ship_line1"] == PERSON["address_line1"]
    assert apps["messaging"]["messages"][0]["body"] == "Hello Zéphyrine"
    assert apps["billing"]["stripe_customer"] == "cus_gdpr1"
    assert {"email": PERSON["email"]} in [entry["after"] for entry in apps["core"]["audit"]]
    assert AuditEntry.objects.filter(object_id=str(member.pk), after__gdpr="export").exists()


def test_an_erasure_needs_a_reason_and_waits_for_a_billed_subscription_to_end(in_a):
    member, staff = _everywhere(in_a)
    with pytest.raises(InvalidInput) as refused:
        member_erase(member=member, by=staff, reason="  ")
    assert refused.value.errors == {"reason": ["a reason is required"]}
    Subscription.objects.create(
        member=member,
        stripe_subscription_id="sub_gdpr",
        stripe_customer_id="cus_gdpr1",
        status="active",
        state_at=timezone.now(),
    )
    with pytest.raises(Refused) as refused:
        member_erase(member=member, by=staff, reason="GDPR request")
    assert refused.value.code == "subscription_running"
    member.refresh_from_db()
    assert (member.status, member.email) == ("active", PERSON["email"])  # nothing was erased


def test_erasing_twice_is_harmless(in_a):
    member, staff = _everywhere(in_a)
    member_erase(member=member, by=staff, reason="GDPR request")
    member_erase(member=member, by=staff, reason="again")
    assert _scan(NEEDLES) == {}
    assert_invariants(member.pk)
