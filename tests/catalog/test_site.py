"""The member site's catalogue pages: gifts with "I can afford it", a gift's page, redeem, my orders."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Gift, Order
from catalog.services import order_status_set
from loyalty.models import Member, Tier
from tests.conftest import host_of
from tests.factories import member_make

from .factories import category_make, gift_make


@pytest.fixture
def member(in_brand):
    return member_make(
        "WEB-1",
        points=500,
        login=True,
        first_name="Ada",
        last_name="Lovelace",
        address_line1="1 rue de la Paix",
        postal_code="75002",
        city="Paris",
        country="FR",
    )


def client_of(member) -> Client:
    client = Client(HTTP_HOST=host_of(connection.tenant))
    client.force_login(member.user)
    return client


def page(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.content.decode()


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]+)"', html).group(1)


def test_gifts_are_public_without_member_data_and_redeem_asks_to_log_in(member):
    gift = gift_make(name="Kettle", points_price=300, stock=2)
    gift_make(name="Hidden", points_price=10, is_active=False)
    anonymous = Client(HTTP_HOST=host_of(connection.tenant))

    listing = page(anonymous.get("/gifts/"))
    assert "Kettle" in listing and "300 points" in listing and "Hidden" not in listing
    assert page(anonymous.get("/gifts/?affordable=on")).count("data-gift=") == 1  # ignored: no member
    detail = page(anonymous.get(f"/gifts/{gift.pk}/"))
    assert "Kettle" in detail and "300 points" in detail
    for html in (listing, detail):
        assert 'class="spendable"' not in html and 'class="affordable"' not in html
        assert 'class="missing"' not in html and "You can afford it" not in html
        assert "Lovelace" not in html and "rue de la Paix" not in html and 'name="token"' not in html
    assert f'href="/accounts/login/?next=/gifts/{gift.pk}/"' in detail
    assert "Log in to redeem" in detail

    response = anonymous.post(f"/gifts/{gift.pk}/redeem/", {"token": "t", "quantity": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/gifts/{gift.pk}/"
    assert not Order.objects.exists() and Gift.objects.get(pk=gift.pk).stock == 2
    orders = anonymous.get("/orders/")
    assert orders.status_code == 302 and orders["Location"] == "/accounts/login/?next=/orders/"


def test_staff_without_a_member_browse_but_redeeming_is_members_only(member):
    gift = gift_make(name="Kettle", points_price=300)
    staff = get_user_model().objects.create_user(username="staff@example.com", password="x", is_staff=True)
    client = Client(HTTP_HOST=host_of(connection.tenant))
    client.force_login(staff)

    assert "Kettle" in page(client.get("/gifts/"))
    detail = page(client.get(f"/gifts/{gift.pk}/"))
    assert "redeeming gifts is for members" in detail and 'name="token"' not in detail
    assert "Members only" in page(
        client.post(f"/gifts/{gift.pk}/redeem/", {"token": "t", "quantity": "1"}), 403
    )
    assert "Members only" in page(client.get("/orders/"), 403)
    assert not Order.objects.exists()


@pytest.mark.parametrize("logged_in", [True, False], ids=["member", "anonymous"])
def test_the_gift_list_makes_as_many_queries_for_10_gifts_as_for_200(member, logged_in):
    gold = Tier.objects.create(code="gold", name="Gold", threshold=1000)
    client = client_of(member) if logged_in else Client(HTTP_HOST=host_of(connection.tenant))
    client.get("/gifts/")  # what the first request caches (the theme) is not the page's

    def queries_with(count: int) -> int:
        for i in range(count - Gift.objects.count()):
            if i % 3 == 0:
                gift_make(points_price=100 + i, codes=[f"C-{count}-{i}"])
            else:
                gift_make(points_price=100 + i, stock=i % 2, tiers=[gold] if i % 3 == 1 else None)
        with CaptureQueriesContext(connection) as captured:
            html = page(client.get("/gifts/?page=1"))
        assert html.count("data-gift=") == min(count, 48)
        return len(captured)

    assert queries_with(10) == queries_with(200)


def test_gift_list_says_what_the_member_can_afford_and_filters(member):
    books = category_make("books")
    cheap = gift_make(name="Bookmark", points_price=200, category=books)
    dear = gift_make(name="Espresso machine", points_price=800)
    client = client_of(member)

    html = page(client.get("/gifts/"))
    assert "You have <strong>500</strong> points to spend" in html
    assert re.search(rf'data-gift="{cheap.pk}">.*?You can afford it', html, re.S)
    assert re.search(rf'data-gift="{dear.pk}">.*?300 points missing', html, re.S)

    affordable = page(client.get("/gifts/?affordable=on"))
    assert "Bookmark" in affordable and "Espresso machine" not in affordable
    by_category = page(client.get("/gifts/?category=books"))
    assert "Bookmark" in by_category and "Espresso machine" not in by_category
    assert "Espresso" in page(client.get("/gifts/?q=espresso"))


def test_redeem_a_voucher_and_see_the_code_a_double_click_makes_one_order(member):
    gift = gift_make(name="Cinema ticket", points_price=150, codes=["TICKET-42", "TICKET-43"])
    client = client_of(member)
    html = page(client.get(f"/gifts/{gift.pk}/"))
    form = {"token": token_of(html), "quantity": "1", "confirmed": "on"}

    first = client.post(f"/gifts/{gift.pk}/redeem/", form)
    second = client.post(f"/gifts/{gift.pk}/redeem/", form)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    order_page = page(client.get(first["Location"]))
    assert "TICKET-42" in order_page and "Placed" in order_page
    assert Order.objects.count() == 1
    assert Member.objects.get(pk=member.pk).balance == 350
    assert "Cinema ticket" in page(client.get("/orders/"))


def test_redeem_asks_for_a_confirmation_first_and_places_nothing_before_it(member):
    gift = gift_make(name="Kettle", points_price=300, stock=5)
    client = client_of(member)
    html = page(client.get(f"/gifts/{gift.pk}/"))
    address = {
        "ship_name": "Ada <b>",
        "ship_line1": "1 rue",
        "ship_postal_code": "75002",
        "ship_city": "Paris",
    }
    form = {"token": token_of(html), "quantity": "1", "ship_country": "FR", **address}

    confirm = page(client.post(f"/gifts/{gift.pk}/redeem/", form))
    assert "Confirm your order" in confirm and "Ada &lt;b&gt;" in confirm
    assert '<dd class="total">300 points</dd>' in confirm and '<dd class="after">200 points</dd>' in confirm
    assert 'name="confirmed" value="True"' in confirm or 'name="confirmed" value="on"' in confirm
    assert Order.objects.count() == 0 and Member.objects.get(pk=member.pk).balance == 500

    done = client.post(f"/gifts/{gift.pk}/redeem/", {**form, "confirmed": "on"})
    assert done.status_code == 302 and Order.objects.count() == 1


def test_redeem_a_physical_gift_needs_the_address_and_says_why_it_is_refused(member):
    gift = gift_make(name="Kettle", points_price=300, stock=1)
    client = client_of(member)
    html = page(client.get(f"/gifts/{gift.pk}/"))
    assert 'value="1 rue de la Paix"' in html  # the member's address, prefilled

    missing = client.post(f"/gifts/{gift.pk}/redeem/", {"token": token_of(html), "quantity": "1"})
    assert "This field is required" in page(missing, 400)

    address = {"ship_name": "Ada", "ship_line1": "1 rue", "ship_postal_code": "75002", "ship_city": "Paris"}
    too_many = client.post(
        f"/gifts/{gift.pk}/redeem/",
        {"token": token_of(html), "quantity": "2", "ship_country": "FR", "confirmed": "on", **address},
    )
    assert "out of stock (1 left)" in page(too_many, 409)
    done = client.post(
        f"/gifts/{gift.pk}/redeem/",
        {"token": token_of(html), "quantity": "1", "ship_country": "FR", "confirmed": "on", **address},
    )
    assert done.status_code == 302
    assert not Order.objects.filter(status="cancelled").exists()


def test_members_see_only_their_orders_and_cancel_until_confirmed(member):
    gift = gift_make(points_price=100, kind="conversion")
    client = client_of(member)
    html = page(client.get(f"/gifts/{gift.pk}/"))
    client.post(f"/gifts/{gift.pk}/redeem/", {"token": token_of(html), "quantity": "1", "confirmed": "on"})
    client.post(f"/gifts/{gift.pk}/redeem/", {"token": "another", "quantity": "1", "confirmed": "on"})
    first, second = Order.objects.order_by("pk")

    conversion = page(client.get(f"/orders/{first.pk}/"))
    assert "CV-" in conversion and "worth €5.00" in conversion  # 100 points = 5 EUR

    other = member_make("WEB-2", points=100, login=True)
    assert client_of(other).get(f"/orders/{first.pk}/").status_code == 404
    assert client_of(other).post(f"/orders/{first.pk}/cancel/").status_code == 404

    response = client.post(f"/orders/{first.pk}/cancel/")
    assert response.status_code == 302
    assert "Cancelled" in page(client.get(f"/orders/{first.pk}/"))
    assert Member.objects.get(pk=member.pk).balance == 400

    order_status_set(order_id=second.pk, status="confirmed", actor="staff:1")
    client.post(f"/orders/{second.pk}/cancel/")
    assert Order.objects.get(pk=second.pk).status == "confirmed"
    assert "cannot be cancelled" in page(client.get(f"/orders/{second.pk}/"))
