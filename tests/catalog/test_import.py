"""Bulk import of gifts (CSV, XLSX): dry run, per-row errors, bad rows never imported; export."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook

from catalog.imports import gift_import, gifts_export_csv
from catalog.models import Gift
from core.errors import InvalidInput
from loyalty.models import Tier

from .factories import category_make, gift_make

CSV = """reference,name,category,points_price,stock,kind,is_featured,tiers
OK-1,Mug,books,150,10,,yes,
NEG,Bad price,books,-5,,,,
UNK,Unknown category,nowhere,100,,,,
NONAME,,books,100,,,,
DUP,First of two,books,100,,,,
DUP,Second of two,books,100,,,,

OK-2,Cinema ticket,,50,,voucher,no,gold
VS,Voucher with a stock,,50,5,voucher,,
TXT,Price in words,,a hundred,,,,
EXIST-1,Renamed gift,books,999,,,,
BADTIER,Tiered,,10,,,,platinum
BOOL,Featured maybe,,10,,,maybe,
"""


@pytest.fixture
def setup(in_brand):
    category_make("books")
    Tier.objects.create(code="gold", name="Gold", threshold=1)
    return gift_make(reference="EXIST-1", name="Old name", points_price=10)


def errors_by_line(report) -> dict[int, set[str]]:
    return {row.line: set(row.errors) for row in report.failed}


EXPECTED_ERRORS = {
    3: {"points_price"},
    4: {"category"},
    5: {"name"},
    6: {"reference"},
    7: {"reference"},
    10: {"stock"},  # a voucher's stock is its pool of codes
    11: {"points_price"},
    13: {"tiers"},
    14: {"is_featured"},
}


def test_dry_run_reports_every_row_and_writes_nothing(setup):
    report = gift_import(content=CSV.encode(), filename="gifts.csv", dry_run=True)

    assert errors_by_line(report) == EXPECTED_ERRORS
    assert (report.created, report.updated) == (2, 1)
    assert set(Gift.objects.values_list("reference", flat=True)) == {"EXIST-1"}
    assert Gift.objects.get(reference="EXIST-1").name == "Old name"
    messages = {row.line: row.errors for row in report.failed}
    assert "unknown category 'nowhere'" in messages[4]["category"]
    assert "rows 6, 7" in messages[6]["reference"][0]


def test_import_takes_the_good_rows_and_none_of_the_bad(setup):
    report = gift_import(content=CSV.encode(), filename="gifts.csv", dry_run=False)

    assert errors_by_line(report) == EXPECTED_ERRORS
    assert set(Gift.objects.values_list("reference", flat=True)) == {"EXIST-1", "OK-1", "OK-2"}
    mug = Gift.objects.get(reference="OK-1")
    assert (mug.name, mug.points_price, mug.stock, mug.category.slug, mug.is_featured, mug.kind) == (
        "Mug",
        150,
        10,
        "books",
        True,
        "physical",
    )
    ticket = Gift.objects.get(reference="OK-2")
    assert (ticket.kind, ticket.stock, list(ticket.tiers.values_list("code", flat=True))) == (
        "voucher",
        None,
        ["gold"],
    )
    updated = Gift.objects.get(reference="EXIST-1")
    assert (updated.name, updated.points_price, updated.category.slug) == ("Renamed gift", 999, "books")


def test_xlsx_with_typed_cells(setup):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "reference",
            "name",
            "points_price",
            "retail_value",
            "retail_currency",
            "available_until",
            "vip_only",
        ]
    )
    # A spreadsheet cell holds no timezone (openpyxl refuses an aware datetime): the import reads it
    # in the brand's timezone.
    until = datetime(2030, 12, 31, 23, 0)  # noqa: DTZ001
    sheet.append(["X-1", "Headphones", 1200, 79.9, "EUR", until, True])
    sheet.append(["X-2", "Broken", -1, None, None, None, False])
    sheet.append(["X-3", "Value without currency", 10, 5, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = gift_import(content=buffer.getvalue(), filename="Gifts.XLSX", dry_run=False)

    assert errors_by_line(report) == {3: {"points_price"}, 4: {"retail_currency"}}
    gift = Gift.objects.get(reference="X-1")
    assert (gift.points_price, gift.retail_value, gift.retail_currency, gift.vip_only) == (
        1200,
        Decimal("79.90"),
        "EUR",
        True,
    )
    assert gift.available_until.year == 2030
    assert not Gift.objects.filter(reference__in=["X-2", "X-3"]).exists()


def test_semicolon_csv_from_a_french_spreadsheet(setup):
    content = "reference;name;points_price;description\nFR-1;Tire-bouchon;300;Très pratique\n".encode(
        "cp1252"
    )
    report = gift_import(content=content, filename="cadeaux.csv", dry_run=False)
    assert report.created == 1 and not report.failed
    assert Gift.objects.get(reference="FR-1").description == "Très pratique"


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"reference,name\nA,B\n", "g.csv", "missing column(s): points_price"),
        (b"reference,name,points_price,colour\nA,B,1,red\n", "g.csv", "unknown column(s): colour"),
        (b"", "g.csv", "empty"),
        (b"%PDF-1.4", "g.pdf", ".csv or .xlsx"),
        (b"not a zip at all", "g.xlsx", "cannot be read"),
    ],
)
def test_unusable_files_are_refused_as_a_whole(setup, content, filename, message):
    with pytest.raises(InvalidInput) as error:
        gift_import(content=content, filename=filename, dry_run=True)
    assert error.value.field == "file"
    assert message in error.value.message


def test_export_then_import_changes_nothing(setup):
    gold = Tier.objects.get(code="gold")
    gift_make(
        reference="FULL",
        name="Everything",
        description="- a list\n- of lines",
        category=category_make("books"),
        points_price=500,
        retail_value=Decimal("25.50"),
        retail_currency="EUR",
        stock=3,
        limit_per_member=1,
        tiers=[gold],
        vip_only=True,
        is_featured=True,
        in_printed_catalogue=True,
    )
    gift_make(
        reference="DON",
        kind=Gift.Kind.DONATION,
        charity_name="Charity",
        donation_amount=Decimal("5.00"),
        donation_currency="EUR",
    )
    before = gifts_export_csv(gifts=Gift.objects.all())

    report = gift_import(content=before.encode(), filename="export.csv", dry_run=False)

    assert not report.failed and report.updated == 3 and report.created == 0
    assert gifts_export_csv(gifts=Gift.objects.all()) == before
    assert before.splitlines()[0].startswith("reference,name,description,category,kind,points_price")
