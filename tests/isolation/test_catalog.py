"""Tenant isolation of the catalogue: a gift, an order or a voucher code of one brand does not exist
for another, through the API (reads and writes: gifts, photos, voucher pools), the member site,
imports and tasks."""

from __future__ import annotations

import time

from django.db import connection
from django.test import Client

from catalog.imports import gift_import
from catalog.models import Gift, GiftPhoto, Order, ServicePush, VoucherCode
from catalog.services import RedeemItem, order_place
from loyalty.models import Member
from tests.catalog.factories import ADDRESS, api_upload, gift_make, image_file
from tests.conftest import brand_make, host_of
from tests.factories import member_make
from tests.support import error_of


def in_schema(brand):
    connection.set_tenant(brand)


def test_gift_and_order_ids_of_a_are_404_on_b_api(api_a, api_b):
    in_schema(api_a.brand)
    gift = gift_make(reference="ISO-GIFT", name="Only in A", points_price=10, stock=5)
    member_make("ISO-M", points=100)
    order = api_a.post(
        "/api/v1/members/ISO-M/redemptions",
        {"items": [{"gift_id": gift.pk}], "shipping_address": ADDRESS},
        headers={"Idempotency-Key": "iso"},
    ).json()
    in_schema(api_b.brand)
    assert not Gift.objects.filter(pk=gift.pk).exists()
    member_make("ISO-M", points=100)  # the same external id, another member

    error_of(api_b.get(f"/api/v1/gifts/{gift.pk}"), 404)
    assert "ISO-GIFT" not in api_b.get("/api/v1/gifts").content.decode()
    error = error_of(
        api_b.post(
            "/api/v1/members/ISO-M/redemptions",
            {"items": [{"gift_id": gift.pk}], "shipping_address": ADDRESS},
            headers={"Idempotency-Key": "iso"},
        ),
        400,
    )
    assert (error["field"], error["code"]) == ("items[0].gift_id", "not_found")
    error_of(api_b.get(f"/api/v1/orders/{order['id']}"), 404)
    error_of(api_b.post(f"/api/v1/orders/{order['id']}/status", {"status": "cancelled"}), 404)
    assert api_b.get("/api/v1/members/ISO-M/redemptions").json()["count"] == 0

    in_schema(api_b.brand)
    assert Member.objects.get(external_id="ISO-M").balance == 100
    in_schema(api_a.brand)
    assert Order.objects.get(pk=order["id"]).status == "placed"
    assert Gift.objects.get(pk=gift.pk).stock == 4


def test_a_voucher_code_of_a_is_invisible_and_untouched_from_b(api_a, api_b):
    in_schema(api_b.brand)
    b_gift = gift_make(points_price=10, codes=["SAME-CODE"])
    in_schema(api_a.brand)
    a_gift = gift_make(points_price=10, codes=["SAME-CODE"])
    member_make("V-1", points=100)

    order = api_a.post(
        "/api/v1/members/V-1/redemptions",
        {"items": [{"gift_id": a_gift.pk}]},
        headers={"Idempotency-Key": "v"},
    ).json()

    assert order["lines"][0]["codes"] == ["SAME-CODE"]
    error_of(api_b.get(f"/api/v1/orders/{order['id']}"), 404)
    error_of(api_b.get("/api/v1/members/V-1/redemptions"), 404)
    in_schema(api_b.brand)
    assert VoucherCode.objects.get(gift=b_gift).order_line_id is None


def test_member_site_of_b_does_not_show_a_gift_or_order_of_a(db, brand_a, brand_b):
    in_schema(brand_a)
    gift = gift_make(name="Alpha exclusive", points_price=10, kind="conversion")
    member = member_make(points=100)
    order, _ = order_place(
        member_id=member.pk, items=[RedeemItem(gift_id=gift.pk)], idempotency_key="s", actor="t"
    )
    in_schema(brand_b)
    b_member = member_make(points=100, login=True)
    client = Client(HTTP_HOST=host_of(brand_b))
    client.force_login(b_member.user)

    assert "Alpha exclusive" not in client.get("/gifts/").content.decode()
    assert client.get(f"/gifts/{gift.pk}/").status_code == 404
    assert client.post(f"/gifts/{gift.pk}/redeem/", {"token": "t", "quantity": "1"}).status_code == 404
    assert client.get(f"/orders/{order.pk}/").status_code == 404
    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 404
    in_schema(brand_a)
    assert Order.objects.get(pk=order.pk).status == "placed"


def test_anonymous_visitors_of_b_see_b_gifts_only(db, brand_a, brand_b):
    in_schema(brand_a)
    a_gift = gift_make(name="Alpha exclusive", points_price=10, kind="conversion")
    in_schema(brand_b)
    anonymous = Client(HTTP_HOST=host_of(brand_b))
    assert anonymous.get(f"/gifts/{a_gift.pk}/").status_code == 404
    redeem = anonymous.post(f"/gifts/{a_gift.pk}/redeem/", {"token": "t", "quantity": "1"})
    assert redeem.status_code == 302 and "/accounts/login/" in redeem["Location"]

    b_gift = gift_make(name="Beta gift", points_price=10, kind="conversion")
    listing = anonymous.get("/gifts/").content.decode()
    assert "Beta gift" in listing and "Alpha exclusive" not in listing
    assert anonymous.get(f"/gifts/{b_gift.pk}/").status_code == 200
    assert not Order.objects.exists()
    in_schema(brand_a)
    assert not Order.objects.exists()


def test_import_in_b_never_updates_a_gift_of_a(db, brand_a, brand_b):
    in_schema(brand_a)
    gift_make(reference="SHARED-REF", name="A's gift", points_price=10)
    in_schema(brand_b)
    report = gift_import(
        content=b"reference,name,points_price\nSHARED-REF,B's gift,20\n", filename="g.csv", dry_run=False
    )
    assert [row.action for row in report.rows] == ["create"]
    in_schema(brand_a)
    assert Gift.objects.get(reference="SHARED-REF").name == "A's gift"


def test_service_push_task_queued_in_a_touches_only_a(fresh_brand, celery_worker):
    other = brand_make(f"{fresh_brand.slug}-b")
    try:
        in_schema(other)
        b_gift = gift_make(kind="service_credit", points_price=10, service_code="MIN", service_quantity=5)
        b_order = Order.objects.create(
            member=member_make(points=10),
            idempotency_key="b",
            request_fingerprint="x",
            total_points=10,
            placed_at=b_gift.created_at,
        )
        b_push = ServicePush.objects.create(order=b_order, action="placed", payload={})  # never queued
        in_schema(fresh_brand)
        gift = gift_make(kind="service_credit", points_price=10, service_code="MIN", service_quantity=5)
        member = member_make(points=10)
        order, _ = order_place(
            member_id=member.pk, items=[RedeemItem(gift_id=gift.pk)], idempotency_key="a", actor="t"
        )
        a_push = ServicePush.objects.get(order=order)
        assert a_push.pk == b_push.pk  # the same id in both schemas

        deadline = time.monotonic() + 30
        while ServicePush.objects.get(pk=a_push.pk).status == ServicePush.Status.PENDING:
            assert time.monotonic() < deadline, "the push was not sent"
            time.sleep(0.05)
        in_schema(other)
        assert ServicePush.objects.get(pk=b_push.pk).status == ServicePush.Status.PENDING
    finally:
        connection.set_schema_to_public()
        other.delete(force_drop=True)


def test_b_cannot_change_archive_or_upload_to_a_gift_of_a(api_a, api_b):
    """Gift writes (issue 12): B's key on A's gift ids is a 404 and A's gift stays as it was."""
    in_schema(api_a.brand)
    a_gift = gift_make(reference="A-ONLY", name="Alpha voucher", points_price=10, codes=["A-CODE"])
    in_schema(api_b.brand)
    assert not Gift.objects.filter(pk=a_gift.pk).exists()
    url = f"/api/v1/gifts/{a_gift.pk}"

    for response in (
        api_b.get(url),
        api_b.send("patch", url, {"name": "Taken over"}),
        api_b.put(url, {"reference": "A-ONLY", "name": "Taken over", "points_price": 1}),
        api_b.delete(url),
        api_upload(api_b, f"{url}/photos", data={"image": image_file(200, 200)}),
        api_b.delete(f"{url}/photos/1"),
        api_b.post(f"{url}/vouchers", ["B-CODE"]),
        api_upload(api_b, f"{url}/vouchers", data=b"B-CODE\n", content_type="text/csv"),
    ):
        error_of(response, 404)
    assert api_b.get("/api/v1/gifts?state=all").json()["count"] == 0
    # B's own gift with the same reference is B's alone.
    b_gift = api_b.post(
        "/api/v1/gifts", {"reference": "A-ONLY", "name": "Beta gift", "points_price": 5}
    ).json()
    assert api_b.send("patch", f"/api/v1/gifts/{b_gift['id']}", {"stock": 3}).status_code == 200

    in_schema(api_a.brand)
    gift = Gift.objects.get(pk=a_gift.pk)
    assert (gift.name, gift.points_price, gift.is_active, gift.archived_at) == (
        "Alpha voucher",
        10,
        True,
        None,
    )
    assert list(VoucherCode.objects.filter(gift=gift).values_list("code", flat=True)) == ["A-CODE"]
    assert not GiftPhoto.objects.exists()
    assert Gift.objects.filter(reference="A-ONLY").count() == 1
    in_schema(api_b.brand)
    assert not VoucherCode.objects.exists() and not GiftPhoto.objects.exists()
