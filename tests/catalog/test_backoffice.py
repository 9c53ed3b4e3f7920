"""The catalogue backoffice: gifts with photos (thumbnails), voucher pools, import with preview,
order processing through the state machine, CSV exports."""

from __future__ import annotations

import os
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from PIL import Image

from catalog.models import Gift, GiftPhoto, Order, VoucherCode
from catalog.services import RedeemItem, ShippingAddress, order_place
from loyalty.models import Member
from tests.conftest import host_of
from tests.factories import member_make

from .factories import ADDRESS, category_make, gift_make, image_file, png


@pytest.fixture
def staff(in_brand) -> Client:
    client = Client(HTTP_HOST=host_of(in_brand))
    client.force_login(get_user_model().objects.get(username=f"admin@{in_brand.slug}.example"))
    return client


GIFT_FORM = {
    "reference": "KET-1",
    "name": "Kettle",
    "description": "",
    "position": "0",
    "kind": "physical",
    "points_price": "900",
    "retail_value": "",
    "retail_currency": "",
    "is_active": "on",
    "stock": "4",
    "limit_per_member": "",
    "charity_name": "",
    "donation_amount": "",
    "donation_currency": "",
    "service_code": "",
    "service_quantity": "",
    "photos-TOTAL_FORMS": "1",
    "photos-INITIAL_FORMS": "0",
    "photos-MIN_NUM_FORMS": "0",
    "photos-MAX_NUM_FORMS": "1000",
    "photos-0-alt_text": "a red kettle",
    "photos-0-position": "0",
}


def test_gift_with_a_photo_gets_a_thumbnail_served_from_the_brand_folder(
    staff, in_brand, django_capture_on_commit_callbacks
):
    response = staff.post("/backoffice/catalog/gift/add/", {**GIFT_FORM, "photos-0-image": png(1600, 1000)})
    assert response.status_code == 302, response.content.decode()[:3000]
    photo = GiftPhoto.objects.get(gift__reference="KET-1")
    try:
        assert (photo.width, photo.height) == (1600, 1000)
        with default_storage.open(photo.thumbnail.name) as thumbnail, Image.open(thumbnail) as image:
            assert image.size == (480, 300) and image.format == "JPEG"
        assert photo.thumbnail.name.startswith(f"gifts/{photo.gift_id}/thumb-")
        served = Client(HTTP_HOST=host_of(in_brand)).get(photo.thumbnail_url)
        assert served.status_code == 200
        change = {
            **GIFT_FORM,
            "photos-TOTAL_FORMS": "1",
            "photos-INITIAL_FORMS": "1",
            "photos-0-id": str(photo.pk),
            "photos-0-gift": str(photo.gift_id),
            "photos-0-DELETE": "on",
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = staff.post(f"/backoffice/catalog/gift/{photo.gift_id}/change/", change)
        assert response.status_code == 302, response.content.decode()[:3000]
        assert not GiftPhoto.objects.exists()
        assert not default_storage.exists(photo.image.name) and not default_storage.exists(
            photo.thumbnail.name
        )
    finally:
        default_storage.delete(photo.image.name)
        default_storage.delete(photo.thumbnail.name)


def test_gift_form_errors_instead_of_500(staff, in_brand):
    bad = {
        **GIFT_FORM,
        "points_price": "-3",
        "kind": "voucher",
        "retail_value": "12",
        "photos-TOTAL_FORMS": "0",
    }
    response = staff.post("/backoffice/catalog/gift/add/", bad)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to" in html
    not_an_image = {**GIFT_FORM, "photos-0-image": SimpleUploadedFile("x.png", b"not an image")}
    html = staff.post("/backoffice/catalog/gift/add/", not_an_image).content.decode()
    assert "Upload a valid image" in html
    voucher_with_stock = {**GIFT_FORM, "kind": "voucher", "photos-TOTAL_FORMS": "0"}
    html = staff.post("/backoffice/catalog/gift/add/", voucher_with_stock).content.decode()
    assert "stock is its pool of codes" in html
    # The API's checks: what a donation needs, a photo's real format.
    donation = {**GIFT_FORM, "kind": "donation", "stock": "", "photos-TOTAL_FORMS": "0"}
    html = staff.post("/backoffice/catalog/gift/add/", donation).content.decode()
    assert "a donation needs the charity that receives it" in html
    gif = {**GIFT_FORM, "photos-0-image": image_file(200, 200, format="GIF", name="k.png")}
    html = staff.post("/backoffice/catalog/gift/add/", gif).content.decode()
    assert "a JPEG, PNG or WebP image, not GIF" in html
    assert not Gift.objects.exists()


def test_an_archived_gift_is_read_only_in_the_backoffice(staff, in_brand):
    gift = gift_make(reference="OLD-1", name="Old kettle", points_price=100)
    staff.post("/backoffice/catalog/gift/", {"action": "archive", "_selected_action": [gift.pk]})
    archived = Gift.objects.get(pk=gift.pk)
    assert archived.archived_at is not None and not archived.is_active
    page = staff.get(f"/backoffice/catalog/gift/{gift.pk}/change/").content.decode()
    assert 'name="points_price"' not in page
    response = staff.post(
        f"/backoffice/catalog/gift/{gift.pk}/change/", {**GIFT_FORM, "photos-TOTAL_FORMS": "0"}
    )
    assert response.status_code == 403
    for name in ("activate", "feature"):
        staff.post("/backoffice/catalog/gift/", {"action": name, "_selected_action": [gift.pk]})
    assert Gift.objects.filter(pk=gift.pk, is_active=False, is_featured=False).exists()
    assert staff.get(f"/backoffice/catalog/gift/{gift.pk}/codes/").status_code == 403


def test_voucher_codes_are_added_to_the_pool_and_duplicates_refused_with_their_line(staff, in_brand):
    gift = gift_make(points_price=100, codes=["A-1"])
    url = f"/backoffice/catalog/gift/{gift.pk}/codes/"
    assert "1 unused codes" in staff.get(url).content.decode()
    upload = SimpleUploadedFile("codes.csv", b"B-2\nC-3;extra\n")
    refused = staff.post(url, {"codes": "A-1\nB-1\nB-1\n\n", "file": upload})
    errors = refused.context["form"].non_field_errors()
    assert "codes line 1: 'A-1' is already in the pool" in errors
    assert "codes line 3: 'B-1' is also on codes line 2" in errors
    assert list(VoucherCode.objects.filter(gift=gift).values_list("code", flat=True)) == ["A-1"]

    upload = SimpleUploadedFile("codes.csv", b"B-2\nC-3;extra\n")
    response = staff.post(url, {"codes": "B-1\n\n", "file": upload}, follow=True)
    assert "3 codes added to the pool of Gift (4 unused)" in response.content.decode()
    assert sorted(VoucherCode.objects.filter(gift=gift).values_list("code", flat=True)) == [
        "A-1",
        "B-1",
        "B-2",
        "C-3",
    ]
    physical = gift_make(points_price=10)
    html = staff.post(f"/backoffice/catalog/gift/{physical.pk}/codes/", {"codes": "Z"}).content.decode()
    assert "is not a voucher gift" in html


def test_import_preview_then_import_the_good_rows(staff, in_brand):
    category_make("books")
    stale = default_storage.save("catalog-imports/" + "0" * 32 + ".csv", ContentFile(b"old preview"))
    os.utime(default_storage.path(stale), (time.time() - 2 * 86400,) * 2)
    content = (
        b"reference,name,category,points_price\nB-1,Novel,books,300\nB-2,,books,100\nB-3,Atlas,maps,100\n"
    )
    preview = staff.post(
        "/backoffice/catalog/gift/import/", {"file": SimpleUploadedFile("g.csv", content), "dry_run": "on"}
    )
    html = preview.content.decode()
    assert "Preview (nothing imported yet)" in html
    assert "unknown category &#x27;maps&#x27;" in html and "This field is required" in html
    assert not Gift.objects.exists()
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert not default_storage.exists(stale)  # a preview nobody confirmed for a day is dropped

    done = staff.post("/backoffice/catalog/gift/import/", {"token": token}, follow=True)

    assert "Imported: 1 created, 0 updated, 2 rows with errors not imported" in done.content.decode()
    assert list(Gift.objects.values_list("reference", flat=True)) == ["B-1"]
    expired = staff.post("/backoffice/catalog/gift/import/", {"token": token}, follow=True)
    assert "That preview has expired" in expired.content.decode()
    assert Gift.objects.count() == 1
    traversal = staff.post("/backoffice/catalog/gift/import/", {"token": "../../etc/passwd"}, follow=True)
    assert "That preview has expired" in traversal.content.decode()
    bad_file = staff.post("/backoffice/catalog/gift/import/", {"file": SimpleUploadedFile("g.pdf", b"%PDF")})
    assert "upload a .csv or .xlsx file" in bad_file.content.decode()


def place(member: Member, gift: Gift, key: str, **address) -> Order:
    order, _ = order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk)],
        shipping=ShippingAddress(**{**ADDRESS, **address}),
        idempotency_key=key,
        actor="member",
    )
    return order


def action(client: Client, name: str, orders: list[Order], **extra):
    return client.post(
        "/backoffice/catalog/order/",
        {"action": name, "_selected_action": [order.pk for order in orders], **extra},
        follow=True,
    )


def test_staff_process_orders_through_the_state_machine(staff, in_brand):
    gift = gift_make(name="Kettle", points_price=100, stock=10)
    member = member_make(points=1000)
    first, second = place(member, gift, "1"), place(member, gift, "2")

    action(staff, "confirm", [first, second])
    assert set(Order.objects.values_list("status", flat=True)) == {"confirmed"}
    form = action(staff, "ship", [first, second]).content.decode()
    assert "Tracking reference" in form
    shipped = action(
        staff,
        "ship",
        [first, second],
        apply="1",
        **{f"o{first.pk}-tracking_ref": "T-1", f"o{second.pk}-tracking_ref": "T-2"},
    )
    assert "2 orders shipped" in shipped.content.decode()
    assert dict(Order.objects.values_list("pk", "tracking_ref")) == {first.pk: "T-1", second.pk: "T-2"}
    refused = action(staff, "cancel", [first]).content.decode()
    assert "cannot be cancelled" in refused
    action(staff, "deliver", [first])
    assert Order.objects.get(pk=first.pk).status == "delivered"
    event = Order.objects.get(pk=first.pk).events.last()
    assert event.actor == f"staff:{event.staff_user_id}" and event.staff_user.username.startswith("admin@")


def test_staff_cancel_gives_points_back_and_order_rows_are_read_only(staff, in_brand):
    gift = gift_make(points_price=100, stock=1)
    member = member_make(points=100)
    order = place(member, gift, "c")
    assert "1 order cancelled" in action(staff, "cancel", [order]).content.decode()
    assert Member.objects.get(pk=member.pk).balance == 100
    assert Gift.objects.get(pk=gift.pk).stock == 1
    change = staff.get(f"/backoffice/catalog/order/{order.pk}/change/").content.decode()
    assert 'name="status"' not in change and "cancelled" in change.lower()
    assert staff.get("/backoffice/catalog/order/add/").status_code == 403


def test_supplier_csv_and_gift_export(staff, in_brand):
    gift = gift_make(reference="KET-1", name="Kettle", points_price=100)
    order = place(member_make("M-9", points=1000), gift, "x", name="=HYPERLINK(evil)")
    response = action(staff, "export_supplier_csv", [order])
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("order_id,placed_at,status,member_external_id,gift_reference")
    assert f"{order.pk}," in lines[1] and "M-9,KET-1,Kettle,1" in lines[1]
    assert "'=HYPERLINK(evil)" in lines[1]  # a spreadsheet will not run it

    export = staff.post(
        "/backoffice/catalog/gift/", {"action": "export_csv", "_selected_action": [gift.pk]}
    ).content.decode()
    assert export.splitlines()[1].startswith("KET-1,Kettle,")


def test_printed_catalogue_and_featured_selections(staff, in_brand):
    gifts = [gift_make(points_price=10) for _ in range(3)]
    staff.post(
        "/backoffice/catalog/gift/",
        {"action": "add_to_printed", "_selected_action": [g.pk for g in gifts[:2]]},
    )
    staff.post("/backoffice/catalog/gift/", {"action": "feature", "_selected_action": [gifts[2].pk]})
    assert sorted(Gift.objects.filter(in_printed_catalogue=True).values_list("pk", flat=True)) == [
        g.pk for g in gifts[:2]
    ]
    assert list(Gift.objects.filter(is_featured=True).values_list("pk", flat=True)) == [gifts[2].pk]
    assert connection.schema_name == in_brand.schema_name


def test_every_catalogue_page_of_the_backoffice_opens(staff, in_brand):
    gift = gift_make(points_price=10, codes=["P-1", "P-2"])
    order, _ = order_place(
        member_id=member_make(points=100).pk,
        items=[RedeemItem(gift_id=gift.pk)],
        idempotency_key="p",
        actor="m",
    )
    pages = ["/backoffice/", "/backoffice/catalog/"]
    for model in ("category", "gift", "vouchercode", "order", "servicepush", "catalogsettings"):
        pages.append(f"/backoffice/catalog/{model}/")
    pages += [f"/backoffice/catalog/gift/{gift.pk}/change/", f"/backoffice/catalog/order/{order.pk}/change/"]
    pages += [
        "/backoffice/catalog/gift/import/",
        "/backoffice/catalog/gift/add/",
        "/backoffice/catalog/category/add/",
    ]
    for url in pages:
        assert staff.get(url).status_code == 200, url
    gift_list = staff.get("/backoffice/catalog/gift/").content.decode()
    assert re.search(r'<td class="field-stock_display[^"]*"[^>]*>1</td>', gift_list)  # two codes, one out
    assert "Voucher codes" in staff.get(f"/backoffice/catalog/gift/{gift.pk}/change/").content.decode()


def test_an_uploaded_voucher_code_holding_a_nul_is_a_form_error(staff, in_brand):
    """PostgreSQL refuses a NUL in text: it was a 500."""
    gift = gift_make(kind="voucher", points_price=10)
    upload = SimpleUploadedFile("codes.txt", b"A-1\nB\x00-2\n")
    response = staff.post(f"/backoffice/catalog/gift/{gift.pk}/codes/", {"codes": "C-3", "file": upload})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "file line 2: may not contain the NUL character (\\u0000)"
    ]
    assert not VoucherCode.objects.filter(gift=gift).exists()
