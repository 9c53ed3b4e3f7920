"""What the backoffice does with gifts, through the API: gifts of every kind created, changed and
archived, categories, photos uploaded, voucher codes added to a pool; bad input is a 4xx naming the
field and writes nothing; a gift made through the API is redeemed through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image

from catalog.api.serializers import GiftWriteSerializer
from catalog.models import Category, Gift, GiftPhoto, VoucherCode
from catalog.services import PHOTO_MAX_BYTES
from loyalty.models import Tier
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import error_of

from .factories import ADDRESS, api_upload, category_make, gift_make, image_file

GIFTS = "/api/v1/gifts"
KETTLE = {"reference": "KET-1", "name": "Kettle", "points_price": 900}


@pytest.fixture
def shop(in_brand):
    """A category and a tier to refer to."""
    return {
        "category": category_make("kitchen", name="Kitchen"),
        "gold": Tier.objects.create(code="gold", name="Gold", threshold=1000),
    }


def created(response) -> dict:
    assert response.status_code == 201, response.content[:2000]
    return response.json()


def ok(response) -> dict:
    assert response.status_code == 200, response.content[:2000]
    return response.json()


def patch(api, path: str, body):
    return api.send("patch", path, body)


def test_gifts_of_every_kind_are_created_with_their_restrictions(api_a, shop):
    window_end = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    physical = created(
        api_a.post(
            GIFTS,
            {
                **KETTLE,
                "description": "Stainless steel",
                "category": "kitchen",
                "retail_value": "39.90",
                "retail_currency": "EUR",
                "stock": 12,
                "limit_per_member": 2,
                "available_until": window_end.isoformat(),
                "tiers": ["gold"],
                "vip_only": False,
                "is_featured": True,
                "in_printed_catalogue": True,
                "position": 3,
            },
        )
    )
    assert physical["kind"] == "physical" and physical["state"] == "active"
    assert (physical["category"], physical["tiers"], physical["stock"]) == ("kitchen", ["gold"], 12)
    assert (physical["stock_left"], physical["limit_per_member"], physical["retail_value"]) == (
        12,
        2,
        "39.90",
    )
    assert physical["is_featured"] and physical["in_printed_catalogue"] and physical["position"] == 3

    others = {
        "voucher": {"kind": "voucher"},
        "donation": {
            "kind": "donation",
            "charity_name": "Red Cross",
            "donation_amount": "5.00",
            "donation_currency": "EUR",
        },
        "service_credit": {"kind": "service_credit", "service_code": "MINUTES", "service_quantity": 60},
        "conversion": {"kind": "conversion"},
    }
    for index, (kind, fields) in enumerate(others.items()):
        gift = created(
            api_a.post(GIFTS, {"reference": f"K-{index}", "name": kind, "points_price": 50, **fields})
        )
        assert gift["kind"] == kind and gift["state"] == "active"
    assert created(api_a.post(GIFTS, {**KETTLE, "reference": "K-9", "category": None}))["category"] is None

    connection.set_tenant(api_a.brand)
    saved = Gift.objects.get(reference="KET-1")
    assert (
        list(saved.tiers.values_list("code", flat=True)) == ["gold"] and saved.available_until == window_end
    )
    assert Gift.objects.count() == 6
    assert ok(api_a.get(f"{GIFTS}/{saved.pk}"))["reference"] == "KET-1"


def test_a_gift_is_changed_by_patch_and_replaced_by_put(api_a, shop):
    gift = created(api_a.post(GIFTS, {**KETTLE, "category": "kitchen", "tiers": ["gold"], "stock": 5}))
    url = f"{GIFTS}/{gift['id']}"

    changed = ok(patch(api_a, url, {"stock": 40, "name": "Big kettle", "is_active": False}))
    assert (changed["stock"], changed["name"], changed["state"]) == (40, "Big kettle", "inactive")
    assert (changed["category"], changed["tiers"]) == ("kitchen", ["gold"])  # not sent: kept
    assert ok(api_a.get(url))["state"] == "inactive"  # readable by id while hidden

    replaced = ok(api_a.put(url, {"reference": "KET-1", "name": "Kettle", "points_price": 700}))
    assert (replaced["points_price"], replaced["stock"], replaced["category"], replaced["tiers"]) == (
        700,
        None,
        None,
        [],
    )
    assert replaced["state"] == "active"  # back to the default
    # What GET answers can be sent back as it is.
    again = ok(api_a.put(url, {**ok(api_a.get(url)), "points_price": 650}))
    assert again["points_price"] == 650


def test_an_archived_gift_is_hidden_not_redeemable_read_only_and_readable_by_id(api_a, shop):
    gift = created(api_a.post(GIFTS, {**KETTLE, "stock": 3}))
    url = f"{GIFTS}/{gift['id']}"
    member_make("M-ARCH", points=5000)

    archived = ok(api_a.delete(url))
    assert archived["state"] == "archived" and archived["archived_at"] and not archived["is_active"]
    assert ok(api_a.delete(url))["archived_at"] == archived["archived_at"]  # once
    assert ok(api_a.get(url))["state"] == "archived"
    assert gift["id"] not in [item["id"] for item in ok(api_a.get(GIFTS))["results"]]
    refused = api_a.post(
        "/api/v1/members/M-ARCH/redemptions",
        {"items": [{"gift_id": gift["id"]}], "shipping_address": ADDRESS},
        headers={"Idempotency-Key": "arch"},
    )
    assert error_of(refused, 422)["code"] == "unavailable"
    for response in (
        patch(api_a, url, {"is_active": True}),
        api_a.put(url, KETTLE),
        api_upload(api_a, f"{url}/photos", data={"image": image_file(200, 200)}),
    ):
        assert error_of(response, 409)["code"] == "archived"
    connection.set_tenant(api_a.brand)
    assert Gift.objects.get(pk=gift["id"]).is_active is False
    site = Client(HTTP_HOST=host_of(api_a.brand))
    site.force_login(member_make(points=5000, login=True).user)
    assert site.get(f"/gifts/{gift['id']}/").status_code == 404
    assert "Kettle" not in site.get("/gifts/").content.decode()


BAD_GIFTS = [
    ({"name": "Kettle", "points_price": 10}, "reference"),
    ({"reference": "K", "points_price": 10}, "name"),
    ({"reference": "K", "name": "Kettle"}, "points_price"),
    ({**KETTLE, "points_price": 0}, "points_price"),
    ({**KETTLE, "points_price": -5}, "points_price"),
    ({**KETTLE, "points_price": 2**40}, "points_price"),
    ({**KETTLE, "points_price": "many"}, "points_price"),
    ({**KETTLE, "stock": -1}, "stock"),
    ({**KETTLE, "limit_per_member": 0}, "limit_per_member"),
    ({**KETTLE, "position": -1}, "position"),
    ({**KETTLE, "reference": "no spaces"}, "reference"),
    ({**KETTLE, "name": "x" * 161}, "name"),
    ({**KETTLE, "category": "nowhere"}, "category"),
    ({**KETTLE, "tiers": ["gold", "platinum"]}, "tiers"),
    ({**KETTLE, "kind": "magic"}, "kind"),
    ({**KETTLE, "kind": "voucher", "stock": 10}, "stock"),
    ({**KETTLE, "kind": "donation", "donation_amount": "5", "donation_currency": "EUR"}, "charity_name"),
    ({**KETTLE, "kind": "donation", "charity_name": "RC", "donation_currency": "EUR"}, "donation_amount"),
    ({**KETTLE, "kind": "service_credit", "service_quantity": 5}, "service_code"),
    ({**KETTLE, "kind": "service_credit", "service_code": "MIN", "service_quantity": 0}, "service_quantity"),
    ({**KETTLE, "retail_value": "12.00"}, "retail_currency"),
    ({**KETTLE, "retail_value": "-1", "retail_currency": "EUR"}, "retail_value"),
    ({**KETTLE, "retail_value": "1.234", "retail_currency": "EUR"}, "retail_value"),
    ({**KETTLE, "retail_value": "1", "retail_currency": "euro"}, "retail_currency"),
    (
        {**KETTLE, "available_from": "2027-02-01T00:00:00Z", "available_until": "2027-01-01T00:00:00Z"},
        "available_until",
    ),
    ({**KETTLE, "available_from": "next week"}, "available_from"),
    ({**KETTLE, "colour": "red"}, "colour"),
    ({**KETTLE, "name": "Ket\u0000tle"}, "name"),
    (["not", "an", "object"], "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_GIFTS)
def test_a_bad_gift_is_400_naming_the_field_and_nothing_is_written(api_a, shop, body, field):
    error = error_of(api_a.post(GIFTS, body), 400)
    assert error["field"] == field, error
    connection.set_tenant(api_a.brand)
    assert not Gift.objects.exists()


def test_bad_changes_are_400_or_404_and_change_nothing(api_a, shop):
    gift = created(api_a.post(GIFTS, {**KETTLE, "stock": 5}))
    created(api_a.post(GIFTS, {**KETTLE, "reference": "TAKEN"}))
    url = f"{GIFTS}/{gift['id']}"
    for body, field in [
        ({"stock": -3}, "stock"),
        ({"points_price": 0}, "points_price"),
        ({"reference": "TAKEN"}, "reference"),
        ({"category": "nowhere"}, "category"),
        ({"kind": "voucher"}, "stock"),  # a voucher gift's stock is its pool
    ]:
        assert error_of(patch(api_a, url, body), 400)["field"] == field
    assert error_of(api_a.put(url, {"name": "No reference"}), 400)["field"] == "reference"
    error = error_of(patch(api_a, f"{GIFTS}/999999999", {"stock": 1}), 404)
    assert error["field"] == "gift_id"
    error_of(api_a.delete(f"{GIFTS}/999999999"), 404)
    assert ok(api_a.get(url))["stock"] == 5

    voucher = gift_make(reference="V-1", codes=["A-1"])
    error = error_of(patch(api_a, f"{GIFTS}/{voucher.pk}", {"kind": "physical"}), 400)
    assert error["field"] == "kind" and "voucher codes" in error["message"]


def test_categories_are_listed_created_and_changed(api_a, in_brand):
    category_make("books", name="Books", position=2)
    made = created(api_a.post("/api/v1/gift-categories", {"name": "Music", "slug": "music", "position": 1}))
    assert made["slug"] == "music"
    listing = ok(api_a.get("/api/v1/gift-categories"))
    assert [item["slug"] for item in listing["results"]] == ["music", "books"]
    assert ok(patch(api_a, "/api/v1/gift-categories/music", {"name": "Records"}))["name"] == "Records"
    gift = created(api_a.post(GIFTS, {**KETTLE, "category": "music"}))
    assert gift["category"] == "music"

    assert error_of(api_a.post("/api/v1/gift-categories", {"name": "Again", "slug": "music"}), 400)[
        "field"
    ] == ("slug")
    assert error_of(api_a.post("/api/v1/gift-categories", {"name": "X", "slug": "no spaces"}), 400)[
        "field"
    ] == ("slug")
    assert error_of(api_a.post("/api/v1/gift-categories", {"slug": "x"}), 400)["field"] == "name"
    error_of(patch(api_a, "/api/v1/gift-categories/nowhere", {"name": "X"}), 404)
    connection.set_tenant(api_a.brand)
    assert sorted(Category.objects.values_list("slug", flat=True)) == ["books", "music"]


# --- photos -------------------------------------------------------------------------------------


@pytest.fixture
def photo_files():
    """The photo files a test stored, deleted afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        default_storage.delete(name)


@pytest.mark.parametrize("format", ["PNG", "JPEG", "WEBP"])
def test_a_photo_is_uploaded_stored_as_the_backoffice_stores_it_and_served(
    api_a, in_brand, photo_files, format, django_capture_on_commit_callbacks
):
    gift = created(api_a.post(GIFTS, KETTLE))
    upload = image_file(1600, 1000, format=format, name="kettle.html")  # the name lies: the content wins
    photo = created(
        api_upload(api_a, f"{GIFTS}/{gift['id']}/photos", data={"image": upload, "alt_text": "a red kettle"})
    )
    connection.set_tenant(in_brand)
    stored = GiftPhoto.objects.get(pk=photo["id"])
    photo_files += [stored.image.name, stored.thumbnail.name]
    extension = {"JPEG": "jpg"}.get(format, format.lower())
    assert stored.image.name.startswith(f"gifts/{gift['id']}/kettle") and stored.image.name.endswith(
        extension
    )
    assert (photo["width"], photo["height"], photo["alt_text"], photo["position"]) == (
        1600,
        1000,
        "a red kettle",
        0,
    )
    with default_storage.open(stored.thumbnail.name) as thumbnail, Image.open(thumbnail) as image:
        assert image.size == (480, 300) and image.format == "JPEG"
    assert default_storage.path(stored.image.name).startswith(str(default_storage.location))
    assert in_brand.schema_name in default_storage.location  # the brand's own media folder

    listed = ok(api_a.get(f"{GIFTS}/{gift['id']}"))["photos"]
    assert [(item["id"], item["url"], item["alt"]) for item in listed] == [
        (photo["id"], photo["url"], "a red kettle")
    ]
    served = Client(HTTP_HOST=host_of(in_brand)).get(photo["url"].split(host_of(in_brand), 1)[1])
    assert served.status_code == 200 and served["Content-Type"] == Image.MIME[format]
    second = created(api_upload(api_a, f"{GIFTS}/{gift['id']}/photos", data={"image": image_file(300, 300)}))
    connection.set_tenant(in_brand)
    photo_files += [GiftPhoto.objects.get(pk=second["id"]).image.name]
    photo_files += [GiftPhoto.objects.get(pk=second["id"]).thumbnail.name]
    assert second["position"] == 1

    removed = GiftPhoto.objects.get(pk=second["id"])
    with django_capture_on_commit_callbacks(execute=True):  # the files go once the removal commits
        assert api_a.delete(f"{GIFTS}/{gift['id']}/photos/{second['id']}").status_code == 204
    connection.set_tenant(in_brand)
    assert not default_storage.exists(removed.image.name) and not default_storage.exists(
        removed.thumbnail.name
    )
    assert [item["id"] for item in ok(api_a.get(f"{GIFTS}/{gift['id']}"))["photos"]] == [photo["id"]]
    error_of(api_a.delete(f"{GIFTS}/{gift['id']}/photos/{second['id']}"), 404)
    other = created(api_a.post(GIFTS, {**KETTLE, "reference": "OTHER"}))
    error_of(api_a.delete(f"{GIFTS}/{other['id']}/photos/{photo['id']}"), 404)  # not that gift's photo


def test_a_bad_photo_is_refused_naming_the_field_and_nothing_is_stored(api_a, in_brand, settings):
    gift = created(api_a.post(GIFTS, KETTLE))
    url = f"{GIFTS}/{gift['id']}/photos"
    folder = f"gifts/{gift['id']}"
    cases = [
        ({"image": SimpleUploadedFile("kettle.png", b"not an image at all")}, 400, "image"),
        ({"image": image_file(200, 200, format="GIF")}, 400, "image"),
        ({"image": image_file(20, 20)}, 400, "image"),
        ({"image": image_file(9000, 70)}, 400, "image"),
        ({"alt_text": "no image"}, 400, "image"),
        ({"image": image_file(200, 200), "alt_text": "x" * 161}, 400, "alt_text"),
        ({"image": image_file(200, 200), "position": "first"}, 400, "position"),
        ({"image": SimpleUploadedFile("big.png", b"\x89PNG" + b"\0" * (PHOTO_MAX_BYTES + 10))}, 413, "image"),
    ]
    for data, status, field in cases:
        error = error_of(api_upload(api_a, url, data=data), status)
        assert error["field"] == field, (data, error)
    error = error_of(api_a.post(url, {"image": "aGVsbG8="}), 415)
    assert error["field"] == "Content-Type"
    connection.set_tenant(in_brand)
    assert not GiftPhoto.objects.exists()
    assert not default_storage.exists(folder) or default_storage.listdir(folder) == ([], [])
    error_of(api_upload(api_a, f"{GIFTS}/999999999/photos", data={"image": image_file(200, 200)}), 404)


# --- voucher codes ------------------------------------------------------------------------------


def codes_of(gift_id: int) -> list[str]:
    return list(VoucherCode.objects.filter(gift_id=gift_id).order_by("code").values_list("code", flat=True))


def test_voucher_codes_are_added_from_a_csv_or_a_json_list(api_a, in_brand):
    gift = created(api_a.post(GIFTS, {**KETTLE, "kind": "voucher"}))
    url = f"{GIFTS}/{gift['id']}/vouchers"

    csv_body = b'code\nAB-1\n"AB-2",expires 2027\n\nAB-3;x\n'
    assert created(api_upload(api_a, url, data=csv_body, content_type="text/csv")) == {
        "added": 3,
        "unused": 3,
    }
    assert created(api_a.post(url, ["AB-4", "AB-5"])) == {"added": 2, "unused": 5}
    assert created(api_a.post(url, {"codes": ["AB-6"]})) == {"added": 1, "unused": 6}
    assert ok(api_a.get(f"{GIFTS}/{gift['id']}"))["stock_left"] == 6
    connection.set_tenant(in_brand)
    assert codes_of(gift["id"]) == ["AB-1", "AB-2", "AB-3", "AB-4", "AB-5", "AB-6"]


def test_duplicate_voucher_codes_are_refused_with_their_line_and_nothing_is_written(
    api_a, in_brand, settings
):
    gift = created(api_a.post(GIFTS, {**KETTLE, "kind": "voucher"}))
    url = f"{GIFTS}/{gift['id']}/vouchers"
    created(api_a.post(url, ["OLD-1"]))

    repeated = error_of(api_upload(api_a, url, data=b"N-1\nN-2\nN-1\n", content_type="text/csv"), 400)
    assert repeated["field"] == "line 3" and "'N-1' is also on line 1" in repeated["message"], repeated
    in_pool = error_of(api_upload(api_a, url, data=b"N-1\nOLD-1\nN-3\n", content_type="text/csv"), 400)
    assert in_pool["field"] == "line 2" and "already in the pool" in in_pool["message"], in_pool
    both = error_of(api_a.post(url, ["N-1", "OLD-1", "N-1", ""]), 400)
    assert set(both["details"]) == {"codes[1]", "codes[2]", "codes[3]"}, both
    holding_nul = error_of(api_upload(api_a, url, data=b"N-1\nN\x00-2\n", content_type="text/csv"), 400)
    assert holding_nul["field"] == "line 2"
    assert error_of(api_a.post(url, ["N-1", 5]), 400)["field"] == "codes[1]"
    assert error_of(api_a.post(url, {"code": "N-1"}), 400)["field"] == "body"
    assert error_of(api_upload(api_a, url, data=b"", content_type="text/csv"), 400)["field"] == "codes"
    assert error_of(api_a.post(url, ["x" * 121]), 400)["field"] == "codes[0]"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    too_big = b"\n".join(f"BIG-{index}".encode() for index in range(500))
    assert error_of(api_upload(api_a, url, data=too_big, content_type="text/csv"), 413)["field"] == "body"

    connection.set_tenant(in_brand)
    assert codes_of(gift["id"]) == ["OLD-1"]
    physical = gift_make(reference="PHYS")
    error = error_of(api_a.post(f"{GIFTS}/{physical.pk}/vouchers", ["P-1"]), 400)
    assert error["field"] == "gift" and "not a voucher gift" in error["message"]
    error_of(api_a.post(f"{GIFTS}/999999999/vouchers", ["P-1"]), 404)
    connection.set_tenant(in_brand)
    assert not VoucherCode.objects.exclude(gift_id=gift["id"]).exists()


# --- redeemed through the existing endpoint ------------------------------------------------------


def test_gifts_made_through_the_api_are_redeemed_through_the_api(api_a, shop):
    member_make("M-RED", points=2000)
    physical = created(api_a.post(GIFTS, {**KETTLE, "points_price": 500, "stock": 2, "category": "kitchen"}))
    voucher = created(
        api_a.post(GIFTS, {"reference": "CINE", "name": "Cinema", "points_price": 300, "kind": "voucher"})
    )
    created(
        api_upload(
            api_a, f"{GIFTS}/{voucher['id']}/vouchers", data=b"CINE-1\nCINE-2\n", content_type="text/csv"
        )
    )

    order = created(
        api_a.post(
            "/api/v1/members/M-RED/redemptions",
            {"items": [{"gift_id": physical["id"]}, {"gift_id": voucher["id"]}], "shipping_address": ADDRESS},
            headers={"Idempotency-Key": "made-by-api"},
        )
    )
    lines = {line["gift_id"]: line for line in order["lines"]}
    assert order["total_points"] == 800 and order["member_balance"] == 1200
    assert lines[voucher["id"]]["codes"] == ["CINE-1"]
    assert ok(api_a.get(f"{GIFTS}/{physical['id']}"))["stock_left"] == 1
    assert ok(api_a.get(f"{GIFTS}/{voucher['id']}"))["stock_left"] == 1


WRONG = [None, True, -1, 1.5, 10**20, "", "x", [], [1], {}, {"a": 1}, "2026-13-01T00:00:00+01:00"]


def test_wrong_json_types_in_any_field_are_a_4xx_never_a_500(api_a, shop):
    voucher = created(api_a.post(GIFTS, {**KETTLE, "reference": "VOUCH", "kind": "voucher"}))
    for name in GiftWriteSerializer().fields:
        for index, value in enumerate(WRONG):
            body = {**KETTLE, "reference": f"F-{name[:40]}-{index}", name: value}
            response = api_a.post(GIFTS, body)
            assert response.status_code in (201, 400), (name, value, response.content[:300])
    for value in WRONG:
        response = api_a.post(f"{GIFTS}/{voucher['id']}/vouchers", value)
        assert response.status_code in (201, 400), (value, response.content[:300])


def test_the_gift_list_finds_the_brand_s_gifts_by_state(api_a, in_brand):
    gift_make(reference="SHOWN")
    gift_make(reference="HIDDEN", is_active=False)
    gone = created(api_a.post(GIFTS, {**KETTLE, "reference": "GONE"}))
    ok(api_a.delete(f"{GIFTS}/{gone['id']}"))

    def references(query: str = "") -> set[str]:
        return {gift["reference"] for gift in ok(api_a.get(f"{GIFTS}{query}"))["results"]}

    assert references() == {"SHOWN"} == references("?state=available") == references("?state=active")
    assert references("?state=inactive") == {"HIDDEN"}
    assert references("?state=archived") == {"GONE"}
    assert references("?state=all") == {"SHOWN", "HIDDEN", "GONE"}
    listed = {gift["reference"]: gift for gift in ok(api_a.get(f"{GIFTS}?state=all"))["results"]}
    assert [listed[ref]["state"] for ref in ("SHOWN", "HIDDEN", "GONE")] == ["active", "inactive", "archived"]
    assert error_of(api_a.get(f"{GIFTS}?state=deleted"), 400)["field"] == "state"
