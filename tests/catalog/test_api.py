"""The catalogue API: gifts (filters, pagination), redemptions, order status for partners, errors."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Gift, Order
from loyalty.models import Member, Tier
from tests.factories import member_make
from tests.support import error_of

from .factories import ADDRESS, category_make, gift_make

REDEEM = "/api/v1/members/{}/redemptions"


@pytest.fixture
def catalogue(in_brand):
    """Three visible gifts in two categories, one hidden, one not yet available."""
    books = category_make("books", position=2)
    music = category_make("music", position=1)
    return {
        "cheap": gift_make(reference="BOOK-1", name="Paperback", points_price=100, category=books, stock=5),
        "mid": gift_make(reference="BOOK-2", name="Hardback novel", points_price=400, category=books),
        "dear": gift_make(
            reference="CD-1", name="Box set", points_price=900, category=music, is_featured=True
        ),
        "hidden": gift_make(reference="OLD", name="Old", points_price=50, is_active=False),
        "later": gift_make(
            reference="SOON", name="Soon", points_price=50, available_from=timezone.now() + timedelta(days=3)
        ),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [gift["id"] for gift in response.json()["results"]]


def test_gift_list_shows_visible_gifts_with_filters(api_a, catalogue):
    c = catalogue
    assert set(ids(api_a.get("/api/v1/gifts"))) == {c["cheap"].pk, c["mid"].pk, c["dear"].pk}
    assert set(ids(api_a.get("/api/v1/gifts?category=books"))) == {c["cheap"].pk, c["mid"].pk}
    assert ids(api_a.get("/api/v1/gifts?points_min=200&points_max=500")) == [c["mid"].pk]
    assert ids(api_a.get("/api/v1/gifts?search=novel")) == [c["mid"].pk]
    assert ids(api_a.get("/api/v1/gifts?search=cd-1")) == [c["dear"].pk]
    assert ids(api_a.get("/api/v1/gifts?featured=true")) == [c["dear"].pk]
    # Ordered by category position (music first), then position and name.
    assert ids(api_a.get("/api/v1/gifts"))[0] == c["dear"].pk

    page = api_a.get("/api/v1/gifts?limit=2&offset=2").json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"] is None

    detail = api_a.get(f"/api/v1/gifts/{c['cheap'].pk}").json()
    assert detail["reference"] == "BOOK-1" and detail["stock_left"] == 5 and detail["category"] == "books"
    assert api_a.get(f"/api/v1/gifts/{c['mid'].pk}").json()["stock_left"] is None


def test_hidden_gifts_are_read_by_id_with_their_state_and_unknown_ones_are_404(api_a, catalogue):
    """The gift list is what members may redeem; by id, the brand reads any of its gifts."""
    hidden = api_a.get(f"/api/v1/gifts/{catalogue['hidden'].pk}").json()
    assert (hidden["reference"], hidden["state"], hidden["is_active"]) == ("OLD", "inactive", False)
    assert api_a.get(f"/api/v1/gifts/{catalogue['later'].pk}").json()["available_from"]
    assert error_of(api_a.get("/api/v1/gifts/999999"), 404)["code"] == "not_found"


def test_gift_list_for_a_member_says_what_they_can_afford(api_a, catalogue):
    member_make("M-1", points=450)
    gold = Tier.objects.create(code="gold", name="Gold", threshold=1)
    catalogue["mid"].tiers.set([gold])

    response = api_a.get("/api/v1/gifts?member=M-1")
    gifts = {gift["reference"]: gift for gift in response.json()["results"]}
    assert gifts["BOOK-1"]["points_missing"] == 0 and gifts["BOOK-1"]["refusal"] is None
    assert gifts["BOOK-2"]["points_missing"] == 0
    assert gifts["BOOK-2"]["refusal"]["code"] == "not_your_tier"
    assert gifts["CD-1"]["points_missing"] == 450
    affordable = api_a.get("/api/v1/gifts?member=M-1&affordable=true")
    assert set(ids(affordable)) == {catalogue["cheap"].pk, catalogue["mid"].pk}


def test_gift_list_without_a_member_has_the_same_fields_null(api_a, catalogue):
    """One shape whether `member` is given or not, as the schema documents it."""
    member_make("M-2")
    fields = set(api_a.get("/api/v1/gifts?member=M-2").json()["results"][0])
    without = api_a.get("/api/v1/gifts").json()["results"]
    assert len(without) == 3 and {"points_missing", "refusal"} <= fields
    assert all(set(gift) == fields for gift in without)
    assert all(gift["points_missing"] is None and gift["refusal"] is None for gift in without)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("points_min=-1", "points_min"),
        ("points_min=abc", "points_min"),
        ("points_min=10&points_max=5", "points_max"),
        ("affordable=true", "affordable"),
        ("kind=spaceship", "kind"),
        ("featured=maybe", "featured"),
    ],
)
def test_bad_filters_are_named(api_a, catalogue, query, field):
    assert error_of(api_a.get(f"/api/v1/gifts?{query}"), 400)["field"] == field


def test_unknown_member_filter_is_404(api_a, catalogue):
    assert error_of(api_a.get("/api/v1/gifts?member=NOBODY"), 404)["field"] == "external_id"


def test_redemption_201_then_replay_201_then_listed(api_a, catalogue):
    member_make("M-1", points=1000)
    body = {"items": [{"gift_id": catalogue["cheap"].pk, "quantity": 2}], "shipping_address": ADDRESS}

    first = api_a.post(REDEEM.format("M-1"), body, headers={"Idempotency-Key": "erp-1"})
    again = api_a.post(REDEEM.format("M-1"), body, headers={"Idempotency-Key": "erp-1"})

    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    order = first.json()
    assert again.json()["id"] == order["id"]
    assert order["status"] == "placed" and order["total_points"] == 200 and order["member_balance"] == 800
    assert order["lines"][0]["gift_reference"] == "BOOK-1" and order["lines"][0]["quantity"] == 2
    assert order["shipping_address"]["city"] == "Paris"
    assert [e["to_status"] for e in order["events"]] == ["placed"]
    assert Member.objects.get(external_id="M-1").balance == 800

    listed = api_a.get(REDEEM.format("M-1")).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == order["id"]
    assert api_a.get(f"/api/v1/orders/{order['id']}").json()["total_points"] == 200


def test_voucher_redemption_returns_the_code(api_a, in_brand):
    member_make("M-2", points=500)
    gift = gift_make(points_price=100, codes=["PATHE-XYZ"])
    response = api_a.post(
        REDEEM.format("M-2"), {"items": [{"gift_id": gift.pk}]}, headers={"Idempotency-Key": "v1"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["codes"] == ["PATHE-XYZ"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "field", "code"),
    [
        ({"items": [{"gift_id": "G", "quantity": 1}]}, {}, 400, "Idempotency-Key", None),
        ({}, {"Idempotency-Key": "k"}, 400, "items", "required"),
        ({"items": []}, {"Idempotency-Key": "k"}, 400, "items", None),
        (
            {"items": [{"gift_id": "G", "quantity": 0}]},
            {"Idempotency-Key": "k"},
            400,
            "items[0].quantity",
            None,
        ),
        ({"items": [{"gift_id": "abc"}]}, {"Idempotency-Key": "k"}, 400, "items[0].gift_id", "invalid"),
        ({"items": [{"gift_id": 999999}]}, {"Idempotency-Key": "k"}, 400, "items[0].gift_id", "not_found"),
        ({"items": [{"gift_id": "G"}]}, {"Idempotency-Key": "k"}, 400, "shipping_address", "required"),
        (
            {"items": [{"gift_id": "G"}], "shipping_address": {**ADDRESS, "country": "FRA"}},
            {"Idempotency-Key": "k"},
            400,
            "shipping_address.country",
            None,
        ),
        (
            {"items": [{"gift_id": "G", "quantity": 6}], "shipping_address": ADDRESS},
            {"Idempotency-Key": "k"},
            422,
            "items[0].quantity",
            "out_of_stock",
        ),
        (
            {"items": [{"gift_id": "DEAR", "quantity": 2}], "shipping_address": ADDRESS},
            {"Idempotency-Key": "k"},
            422,
            "items",
            "insufficient_points",
        ),
    ],
)
def test_redemption_errors_name_the_field_and_take_nothing(
    api_a, catalogue, body, headers, status, field, code
):
    member_make("M-1", points=1000)
    names = {"G": catalogue["cheap"].pk, "DEAR": catalogue["dear"].pk}
    for item in body.get("items", []):
        item["gift_id"] = names.get(item["gift_id"], item["gift_id"])

    error = error_of(api_a.post(REDEEM.format("M-1"), body, headers=headers), status)

    assert error["field"] == field
    if code:
        assert error["code"] == code
    assert Member.objects.get(external_id="M-1").balance == 1000
    assert not Order.objects.exists()


def test_idempotency_key_reused_with_another_body_is_409(api_a, catalogue):
    member_make("M-1", points=1000)
    url, key = REDEEM.format("M-1"), {"Idempotency-Key": "same"}
    first = {"items": [{"gift_id": catalogue["cheap"].pk}], "shipping_address": ADDRESS}
    assert api_a.post(url, first, headers=key).status_code == 201
    other = {"items": [{"gift_id": catalogue["cheap"].pk, "quantity": 2}], "shipping_address": ADDRESS}
    assert error_of(api_a.post(url, other, headers=key), 409)["code"] == "idempotency_conflict"


def test_unknown_member_malformed_json_and_no_key(api_a, catalogue):
    assert error_of(api_a.post(REDEEM.format("NOBODY"), {"items": []}, headers={"Idempotency-Key": "k"}), 404)
    member_make("M-1", points=10)
    error = error_of(api_a.post(REDEEM.format("M-1"), raw="{not json", headers={"Idempotency-Key": "k"}), 400)
    assert error["field"] == "body"
    api_a.key = ""
    assert error_of(api_a.get("/api/v1/gifts"), 401)["field"] == "Authorization"


def test_partner_moves_an_order_along(api_a, catalogue):
    member_make("M-1", points=1000)
    created = api_a.post(
        REDEEM.format("M-1"),
        {"items": [{"gift_id": catalogue["cheap"].pk}], "shipping_address": ADDRESS},
        headers={"Idempotency-Key": "p1"},
    ).json()
    status_url = f"/api/v1/orders/{created['id']}/status"

    assert api_a.post(status_url, {"status": "confirmed"}).json()["status"] == "confirmed"
    error = error_of(api_a.post(status_url, {"status": "shipped"}), 400)
    assert (error["field"], error["code"]) == ("tracking_ref", "required")
    shipped = api_a.post(status_url, {"status": "shipped", "tracking_ref": "LP123"}).json()
    assert (shipped["status"], shipped["tracking_ref"]) == ("shipped", "LP123")
    assert error_of(api_a.post(status_url, {"status": "cancelled"}), 409)["code"] == "invalid_transition"
    assert error_of(api_a.post(status_url, {"status": "lost"}), 400)["field"] == "status"
    delivered = api_a.post(status_url, {"status": "delivered"}).json()
    assert [e["to_status"] for e in delivered["events"]] == ["placed", "confirmed", "shipped", "delivered"]
    assert delivered["events"][1]["actor"].startswith("api:")
    assert error_of(api_a.post("/api/v1/orders/999999/status", {"status": "confirmed"}), 404)


def test_partner_cancellation_gives_the_points_back(api_a, catalogue):
    member_make("M-1", points=1000)
    created = api_a.post(
        REDEEM.format("M-1"),
        {"items": [{"gift_id": catalogue["cheap"].pk, "quantity": 3}], "shipping_address": ADDRESS},
        headers={"Idempotency-Key": "c1"},
    ).json()
    response = api_a.post(
        f"/api/v1/orders/{created['id']}/status", {"status": "cancelled", "note": "no stock"}
    )
    assert response.json()["status"] == "cancelled"
    assert response.json()["member_balance"] == 1000
    assert Gift.objects.get(pk=catalogue["cheap"].pk).stock == 5


VALUES = [None, True, 0, -1, 1.5, 10**20, "", "x", [], [1], {}, {"a": 1}]


def test_no_input_makes_a_500(api_a, catalogue):
    """Every field of every write, with values of every wrong type: 4xx, never 5xx."""
    member_make("M-1", points=1000)
    gift_id = catalogue["cheap"].pk
    order = api_a.post(
        REDEEM.format("M-1"),
        {"items": [{"gift_id": gift_id}], "shipping_address": ADDRESS},
        headers={"Idempotency-Key": "fuzz-0"},
    ).json()
    server_errors = []
    counter = itertools.count(1)
    bodies = []
    for value in VALUES:
        bodies += [
            value,
            {"items": value},
            {"items": [value]},
            {"items": [{"gift_id": value}]},
            {"items": [{"gift_id": gift_id, "quantity": value}], "shipping_address": ADDRESS},
            {"items": [{"gift_id": gift_id}], "shipping_address": value},
        ]
        bodies += [
            {"items": [{"gift_id": gift_id}], "shipping_address": {**ADDRESS, field: value}}
            for field in ADDRESS
        ]
    for body in bodies:
        response = api_a.post(
            REDEEM.format("M-1"), body, headers={"Idempotency-Key": f"fuzz-{next(counter)}"}
        )
        if response.status_code >= 500:
            server_errors.append(("redeem", body, response.status_code))
    for value in VALUES:
        for body in ({"status": value}, {"status": "shipped", "tracking_ref": value}, {"note": value}, value):
            response = api_a.post(f"/api/v1/orders/{order['id']}/status", body)
            if response.status_code >= 500:
                server_errors.append(("status", body, response.status_code))
        names = (
            "category",
            "kind",
            "points_min",
            "points_max",
            "search",
            "featured",
            "member",
            "limit",
            "offset",
        )
        for name in names:
            response = api_a.get(f"/api/v1/gifts?{name}={value}")
            if response.status_code >= 500:
                server_errors.append(("gifts", name, value))
    assert server_errors == []
