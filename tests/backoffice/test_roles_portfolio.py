"""The sales rep's portfolio (README "Backoffice roles"): a sales rep sees, read only, the members
whose `sales_rep` they are, in the member list and on the member page; another member's page
answers as if it did not exist. Roles with `loyalty.view_every_member` see every member; a support
user's adjustment is held to the owner's limit."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from catalog.services import RedeemItem, order_place
from core.models import StaffProfile, StaffSettings
from loyalty.models import LedgerEntry, Member
from loyalty.services.ledger import AdjustmentOverLimit, points_adjust
from messaging.models import Message
from tests.catalog.factories import gift_make
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import credit_make, member_make


def _staff(role: str, *, name: str = ""):
    user = get_user_model().objects.create_user(
        username=f"{name or role}-p@staff.example", password=TEST_PASSWORD, is_staff=True
    )
    StaffProfile.objects.create(user=user, role=role)
    return user


def _client(brand, user) -> Client:
    client = Client(HTTP_HOST=host_of(brand))
    client.force_login(user)
    return client


@pytest.fixture
def portfolio(db, brand_a):
    connection.set_tenant(brand_a)
    rep, other_rep = _staff("sales_rep"), _staff("sales_rep", name="other-rep")
    mine = member_make("rep-mine", first_name="Mina")
    theirs = member_make("rep-theirs", first_name="Theo")
    nobody = member_make("rep-nobody", first_name="Nora")
    Member.objects.filter(pk=mine.pk).update(sales_rep=rep)
    Member.objects.filter(pk=theirs.pk).update(sales_rep=other_rep)
    return rep, mine, theirs, nobody


def test_a_sales_rep_sees_their_portfolio_only(portfolio, brand_a):
    rep, mine, theirs, nobody = portfolio
    client = _client(brand_a, rep)
    listed = client.get(reverse("admin:loyalty_member_changelist"))
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [Member.objects.get(pk=mine.pk)]
    page = client.get(reverse("admin:loyalty_member_change", args=[mine.pk]))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False  # read only: nothing to save
    for other in (theirs, nobody):
        # As if it did not exist: back to the list (Django's answer for an unknown id).
        response = client.get(reverse("admin:loyalty_member_change", args=[other.pk]))
        assert response.status_code == 302, other
        response = client.get(reverse("admin:loyalty_member_ledger", args=[other.pk]))
        assert response.status_code in (302, 404), other
    # Read only: no write of their own member either.
    response = client.post(reverse("admin:loyalty_member_change", args=[mine.pk]), {"first_name": "X"})
    assert response.status_code == 403
    assert Member.objects.get(pk=mine.pk).first_name == "Mina"


def test_a_sales_rep_sees_their_members_orders_and_messages_only(portfolio, brand_a):
    rep, mine, theirs, _nobody = portfolio
    gift = gift_make(points_price=10, codes=["PF-1", "PF-2"])
    orders = {}
    for member in (mine, theirs):
        credit_make(member, 50)
        orders[member.pk], _ = order_place(
            member_id=member.pk,
            items=[RedeemItem(gift_id=gift.pk, quantity=1)],
            idempotency_key=f"pf-{member.pk}",
            actor="member",
        )
        Message.objects.create(member=member, channel="email", purpose="service", language="en", body="hi")
    client = _client(brand_a, rep)
    listed = client.get(reverse("admin:catalog_order_changelist"))
    assert [order.pk for order in listed.context["cl"].result_list] == [orders[mine.pk].pk]
    assert client.get(reverse("admin:catalog_order_change", args=[orders[theirs.pk].pk])).status_code == 302
    listed = client.get(reverse("admin:messaging_message_changelist"))
    assert {message.member_id for message in listed.context["cl"].result_list} == {mine.pk}
    support = _client(brand_a, _staff("support"))
    listed = support.get(reverse("admin:messaging_message_changelist"))
    assert {message.member_id for message in listed.context["cl"].result_list} == {mine.pk, theirs.pk}


@pytest.mark.parametrize("role", ["owner", "manager", "support", "analyst"])
def test_roles_that_see_every_member(portfolio, brand_a, role):
    _rep, mine, theirs, nobody = portfolio
    listed = _client(brand_a, _staff(role)).get(reverse("admin:loyalty_member_changelist"))
    shown = {member.pk for member in listed.context["cl"].result_list}
    assert {mine.pk, theirs.pk, nobody.pk} <= shown


def test_a_support_adjustment_over_the_limit_is_refused(db, brand_a):
    connection.set_tenant(brand_a)
    StaffSettings.objects.update_or_create(pk=1, defaults={"support_adjust_limit": 100})
    support, manager = _staff("support"), _staff("manager")
    member = member_make("limit-1", points=500)
    points_adjust(member_id=member.pk, points=100, reason="goodwill", staff_user_id=support.pk)
    points_adjust(member_id=member.pk, points=-100, reason="typo", staff_user_id=support.pk)
    for points in (101, -101):
        with pytest.raises(AdjustmentOverLimit) as refused:
            points_adjust(member_id=member.pk, points=points, reason="too much", staff_user_id=support.pk)
        assert refused.value.code == "adjust_over_limit" and refused.value.field == "points"
        assert "limit of 100" in refused.value.message
    assert not LedgerEntry.objects.filter(member=member, reason="too much").exists()
    # Others are not held to it; nor is the API (no staff user).
    points_adjust(member_id=member.pk, points=5000, reason="campaign", staff_user_id=manager.pk)
    points_adjust(member_id=member.pk, points=-2000, reason="correction", staff_user_id=None)


def test_the_backoffice_says_why_an_adjustment_is_refused(db, brand_a):
    connection.set_tenant(brand_a)
    StaffSettings.objects.update_or_create(pk=1, defaults={"support_adjust_limit": 50})
    member = member_make("limit-2", points=10)
    client = _client(brand_a, _staff("support"))
    url = reverse("admin:loyalty_member_adjust", args=[member.pk])
    response = client.post(url, {"points": 80, "reason": "sorry", "key": "k-limit-2"})
    assert response.status_code == 200
    assert "over the support role&#x27;s limit of 50" in response.content.decode()
    assert Member.objects.get(pk=member.pk).balance == 10
