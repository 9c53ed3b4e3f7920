"""The member service page (/backoffice/loyalty/member/<id>/change/): everything about one member
on one screen, its actions each behind its permission, and the portfolio rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.services import RedeemItem, ShippingAddress, order_place
from core.errors import Conflict, NotFound, Refused
from core.models import StaffProfile
from loyalty.models import LedgerEntry, Member
from loyalty.services.members import consent_set, member_block
from messaging.models import Message
from messaging.services.resend import message_resend
from messaging.services.sending import message_queue, message_send
from tests.catalog.factories import ADDRESS, gift_make
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import credit_make, member_make, sending_hours_open, template_make


def _page(client, member):
    return client.get(f"/backoffice/loyalty/member/{member.pk}/change/")


def _staff(client_for, brand, *codenames, username="support@alpha.example"):
    """A staff user of the brand holding exactly these model permissions, logged in."""
    user = get_user_model().objects.create_user(username=username, password=TEST_PASSWORD, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = client_for(brand)
    response = client.post("/accounts/login/", {"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return user, client


def _messaged(member):
    consent_set(member=member, consents={"sms": True}, source="test")
    sending_hours_open("sms")
    template_make("hello", body="Hello {{ first_name }}", purpose="service")
    message = message_queue(member=member, channel="sms", template_code="hello")
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    return message


def test_the_page_shows_points_expiries_orders_messages_and_consent_history(staff_a):
    member = member_make("S-1", first_name="Noémie", phone="+33611112222", points=500)
    gift = gift_make(name="Tote bag", points_price=100, stock=5)
    order, _ = order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk, quantity=1)],
        shipping=ShippingAddress(**ADDRESS),
        idempotency_key="k1",
        actor="member",
    )
    credit_make(member, 40, expires_at=timezone.now() + timedelta(days=20))
    credit_make(member, 60, at=timezone.now() + timedelta(days=3))  # pending: available later
    message = _messaged(member)

    response = _page(staff_a, member)
    page = response.content.decode()

    assert response.status_code == 200
    for shown in ("Spendable now", "Pending", "Next expiries", "40 points on", "Tote bag", "Order ", "hello"):
        assert shown in page, shown
    assert f"/backoffice/catalog/order/{order.pk}/change/" in page
    assert f'name="message" value="{message.pk}"' in page  # the Resend button
    assert "Consent history" in page or "consent history" in page
    assert "VIP subscriptions" in page


def test_resend_queues_the_same_text_again_as_a_new_message(staff_a):
    member = member_make("S-2", first_name="Noémie", phone="+33611112222")
    message = _messaged(member)

    response = staff_a.post(
        f"/backoffice/loyalty/member/{member.pk}/message-resend/", {"message": str(message.pk)}
    )

    assert response.status_code == 302
    again = Message.objects.get(retry_of=message)
    assert (again.body, again.recipient, again.state) == (message.body, "+33611112222", "queued")


def test_resend_of_another_members_message_or_a_bad_id_sends_nothing(staff_a):
    member = member_make("S-3", phone="+33611112222")
    other = member_make("S-4", phone="+33633334444")
    message = _messaged(other)

    for value in (str(message.pk), "abc", ""):
        response = staff_a.post(f"/backoffice/loyalty/member/{member.pk}/message-resend/", {"message": value})
        assert response.status_code == 302
    assert not Message.objects.filter(retry_of=message).exists()


def test_each_action_needs_its_own_permission(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    user, client = _staff(client_for, brand_a, "view_member", "change_member")
    member = member_make("S-5", phone="+33611112222")
    Member.objects.filter(pk=member.pk).update(sales_rep=user)
    message = _messaged(member)
    base = f"/backoffice/loyalty/member/{member.pk}"

    assert _page(client, member).status_code == 200
    assert client.get(f"{base}/adjust/").status_code == 403
    assert client.post(f"{base}/activation-code/").status_code == 403
    assert client.post(f"{base}/message-resend/", {"message": str(message.pk)}).status_code == 403
    response = client.post(
        "/backoffice/loyalty/member/",
        {"action": "block", "_selected_action": [str(member.pk)], "reason": "fraud"},
    )
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE
    assert not Message.objects.filter(retry_of=message).exists()
    assert not LedgerEntry.objects.filter(member=member, kind=LedgerEntry.Kind.ADJUST).exists()
    assert response.status_code in (200, 302)


def test_without_view_every_member_staff_see_only_their_portfolio(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    user, client = _staff(client_for, brand_a, "view_member", "change_member")
    mine = member_make("S-6", last_name="Portfolio-Mine")
    theirs = member_make("S-7", last_name="Portfolio-Theirs")
    Member.objects.filter(pk=mine.pk).update(sales_rep=user)

    listing = client.get("/backoffice/loyalty/member/").content.decode()

    assert "S-6" in listing and "S-7" not in listing
    assert _page(client, mine).status_code == 200
    assert _page(client, theirs).status_code == 302  # the admin's "no such member" answer
    assert client.get(f"/backoffice/loyalty/member/{theirs.pk}/ledger/").status_code == 404


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("support", {"resend", "code", "export", "erase", "block"}),
        ("manager", {"resend"}),  # messaging is the manager's
        ("sales_rep", set()),
        ("analyst", set()),
    ],
)
def test_the_roles_that_may_act_on_the_service_page(db, brand_a, role, allowed):
    """Support blocks, resends, issues codes, exports and erases; a manager resends; the sales rep
    (their own member included: read only) and the analyst do none of it."""
    connection.set_tenant(brand_a)
    user = get_user_model().objects.create_user(username=f"{role}@staff.example", is_staff=True)
    StaffProfile.objects.create(user=user, role=role)
    member = member_make("R-1", email="r1@example.org", phone="+33611112222")
    Member.objects.filter(pk=member.pk).update(sales_rep=user)
    message = _messaged(member)
    client = Client(HTTP_HOST=host_of(brand_a))
    client.force_login(user)
    base = f"/backoffice/loyalty/member/{member.pk}"

    statuses = {
        "resend": client.post(f"{base}/message-resend/", {"message": str(message.pk)}).status_code,
        "code": client.get(f"{base}/activation-code/").status_code,
        "export": client.get(f"{base}/personal-data/").status_code,
        "erase": client.get(f"{base}/erase/").status_code,
    }
    client.post(
        "/backoffice/loyalty/member/",
        {"action": "block", "_selected_action": [str(member.pk)], "reason": "x"},
    )

    done = {"resend": 302, "code": 200, "export": 200, "erase": 200}
    assert statuses == {action: done[action] if action in allowed else 403 for action in statuses}
    member.refresh_from_db()
    assert member.status == ("blocked" if "block" in allowed else "active")
    assert Message.objects.filter(retry_of=message).exists() == ("resend" in allowed)


def test_resend_is_refused_for_a_message_on_its_way_erased_or_of_a_blocked_member(in_a):
    member = member_make("S-8", phone="+33611112222")
    message = _messaged(member)
    queued = message_queue(member=member, channel="sms", template_code="hello")
    with pytest.raises(Conflict):
        message_resend(message_id=queued.pk)
    Message.objects.filter(pk=message.pk).update(body="")
    with pytest.raises(Refused) as refused:
        message_resend(message_id=message.pk)
    assert refused.value.code == "message_erased"
    Message.objects.filter(pk=message.pk).update(body="Hello")
    staff = get_user_model().objects.get(username="admin@alpha.example")
    member_block(member=member, by=staff, reason="fraud")
    with pytest.raises(Refused) as refused:
        message_resend(message_id=message.pk)
    assert refused.value.code == "member_not_active"
    with pytest.raises(NotFound):
        message_resend(message_id=10**9)
    assert not Message.objects.filter(retry_of__isnull=False).exists()
