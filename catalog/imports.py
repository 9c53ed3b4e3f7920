"""Bulk import of gifts from CSV or XLSX (with a dry run), the export in the same columns, and the
reading of uploaded voucher codes (backoffice and API).

Both run as jobs of `core.jobs` (`catalog.gifts_import`, `catalog.codes_import`), a dry run first,
from the backoffice's upload pages (`backoffice/imports.py`).

Semantics: every row is checked on its own. Good rows are imported (created, or updated when their
reference already exists), bad rows are reported with their errors and not imported; a dry run
checks and reports exactly the same way and writes nothing. A reference that appears on two rows of
the same file is an error on each of them (the file does not say which one is right).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, InvalidInput
from core.jobs import JobProgress, job_kind, job_upload_open
from core.models.jobs import Job
from core.tables import MAX_BYTES, table_read, text_decode
from loyalty.models import Tier
from tenants.selectors import brand_timezone

from .models import Category, Gift, VoucherCode
from .services import (
    GIFT_FIELDS,
    VOUCHER_CODES_MAX,
    VoucherCodeInput,
    gift_validate,
    voucher_code_problem,
    voucher_codes_add,
)

COLUMNS = list(GIFT_FIELDS)
REQUIRED_COLUMNS = ("reference", "name", "points_price")
DEFAULT_WHEN_BLANK = {"kind", "vip_only", "is_active", "is_featured", "in_printed_catalogue", "position"}
TRUE_WORDS = {"1", "yes", "y", "true", "x", "oui"}
FALSE_WORDS = {"0", "no", "n", "false", "non"}


@dataclass
class ImportRow:
    line: int
    reference: str
    name: str
    action: str = ""  # create, update or error
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[ImportRow]

    @property
    def created(self) -> int:
        return sum(row.action == "create" for row in self.rows)

    @property
    def updated(self) -> int:
        return sum(row.action == "update" for row in self.rows)

    @property
    def failed(self) -> list[ImportRow]:
        return [row for row in self.rows if row.action == "error"]


class YesNoField(forms.CharField):
    """yes/no, true/false, 1/0, x; blank is None (the model's default)."""

    def to_python(self, value):
        text = (super().to_python(value) or "").strip().lower()
        if not text:
            return None
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValidationError(f"'{value}' is not yes or no")


class GiftRowForm(forms.Form):
    """The parsing of one row; the model's own validation and constraints run after it."""

    reference = forms.CharField(max_length=64)
    name = forms.CharField(max_length=160)
    description = forms.CharField(required=False)
    category = forms.CharField(required=False)
    kind = forms.ChoiceField(choices=Gift.Kind.choices, required=False)
    points_price = forms.IntegerField()
    retail_value = forms.DecimalField(required=False, max_digits=12, decimal_places=2)
    retail_currency = forms.CharField(required=False, max_length=3)
    stock = forms.IntegerField(required=False)
    limit_per_member = forms.IntegerField(required=False)
    available_from = forms.DateTimeField(required=False)
    available_until = forms.DateTimeField(required=False)
    tiers = forms.CharField(required=False)
    vip_only = YesNoField(required=False)
    is_active = YesNoField(required=False)
    is_featured = YesNoField(required=False)
    in_printed_catalogue = YesNoField(required=False)
    position = forms.IntegerField(required=False)
    charity_name = forms.CharField(required=False)
    donation_amount = forms.DecimalField(required=False, max_digits=12, decimal_places=2)
    donation_currency = forms.CharField(required=False, max_length=3)
    service_code = forms.CharField(required=False)
    service_quantity = forms.IntegerField(required=False)

    def __init__(self, *args, categories: dict[str, Category], tiers: dict[str, Tier], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.categories = categories
        self.known_tiers = tiers

    def clean_points_price(self) -> int:
        value = self.cleaned_data["points_price"]
        if value <= 0:
            raise ValidationError("a points price is a positive whole number")
        return value

    def clean_category(self) -> Category | None:
        value = self.cleaned_data["category"].strip()
        if not value:
            return None
        category = self.categories.get(value.lower())
        if category is None:
            raise ValidationError(f"unknown category '{value}'")
        return category

    def clean_tiers(self) -> list[Tier]:
        codes = [code.strip() for code in self.cleaned_data["tiers"].split(",") if code.strip()]
        unknown = [code for code in codes if code.lower() not in self.known_tiers]
        if unknown:
            raise ValidationError(f"unknown tier '{unknown[0]}'")
        return [self.known_tiers[code.lower()] for code in codes]

    def clean_retail_currency(self) -> str:
        return self.cleaned_data["retail_currency"].strip().upper()

    def clean_donation_currency(self) -> str:
        return self.cleaned_data["donation_currency"].strip().upper()


def gift_import(*, content: bytes, filename: str, dry_run: bool) -> ImportReport:
    """Import gifts from a CSV or XLSX file: see the module's docstring for the semantics."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // 1024 // 1024} MB", field="file")
    header, rows = table_read(content=content, filename=filename)
    _header_check(header)
    categories = {}
    for category in Category.objects.all():
        categories[category.slug.lower()] = categories[category.name.lower()] = category
    tiers = {tier.code.lower(): tier for tier in Tier.objects.all()}
    lines_by_reference: dict[str, list[int]] = {}
    for line, values in rows:
        lines_by_reference.setdefault(values.get("reference", "").strip(), []).append(line)

    report = ImportReport(dry_run=dry_run, rows=[])
    with timezone.override(brand_timezone()), transaction.atomic():
        existing = {
            gift.reference: gift
            for gift in Gift.objects.filter(
                reference__in=[values.get("reference", "").strip() for _, values in rows]
            ).prefetch_related("tiers")
        }
        for line, values in rows:
            row = ImportRow(
                line=line, reference=values.get("reference", "").strip(), name=values.get("name", "")
            )
            report.rows.append(row)
            same = lines_by_reference.get(row.reference, [])
            if row.reference and len(same) > 1:
                row.errors["reference"] = [f"'{row.reference}' appears on rows {', '.join(map(str, same))}"]
            gift = existing.get(row.reference)
            if gift is not None:
                values = {**gift_export_row(gift), **values}
            _row_import(row=row, values=values, gift=gift, categories=categories, tiers=tiers)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _row_import(
    *,
    row: ImportRow,
    values: dict[str, str],
    gift: Gift | None,
    categories: dict[str, Category],
    tiers: dict[str, Tier],
) -> None:
    form = GiftRowForm(data=values, categories=categories, tiers=tiers)
    if not form.is_valid():
        for name, messages in form.errors.items():
            row.errors.setdefault(name, []).extend(messages)
    if row.errors:
        row.action = "error"
        return
    data = dict(form.cleaned_data)
    row.action = "update" if gift is not None else "create"
    for name, value in data.items():
        if value in (None, "") and name in DEFAULT_WHEN_BLANK:
            data[name] = Gift._meta.get_field(name).get_default()
    try:  # the backoffice's and the API's validation (catalog.services)
        gift = gift_validate(data=data, gift=gift)
    except DomainError as error:
        row.action = "error"
        for name, messages in error.errors.items():
            row.errors.setdefault(name or "row", []).extend(messages)
        return
    try:
        with transaction.atomic():
            gift.save()
            gift.tiers.set(data["tiers"])
    except IntegrityError as error:
        row.action = "error"
        row.errors.setdefault("row", []).append(f"refused by the database: {error}".splitlines()[0])


def _header_check(header: list[str]) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InvalidInput(f"missing column(s): {', '.join(missing)}", field="file")
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"unknown column(s): {', '.join(unknown)} (the columns are: {', '.join(COLUMNS)})", field="file"
        )
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise InvalidInput(f"repeated column(s): {', '.join(repeated)}", field="file")


def gift_export_row(gift: Gift) -> dict[str, str]:
    """A gift in the import's columns: exporting then importing changes nothing."""
    local = brand_timezone()

    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, datetime):
            return value.astimezone(local).strftime("%Y-%m-%d %H:%M:%S")
        return str(value)

    row = {name: text(getattr(gift, name)) for name in COLUMNS if name not in ("category", "tiers")}
    row["category"] = gift.category.slug if gift.category_id else ""
    row["tiers"] = ",".join(sorted(tier.code for tier in gift.tiers.all()))
    return row


def gifts_export_csv(*, gifts: QuerySet[Gift]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for gift in gifts.select_related("category").prefetch_related("tiers").order_by("reference"):
        writer.writerow(gift_export_row(gift))
    return out.getvalue()


VOUCHER_HEADERS = {"code", "codes", "voucher", "voucher_code"}
CELL_END = re.compile(r"[,;\t]")


def voucher_codes_read(*, content: bytes, source: str = "line") -> list[VoucherCodeInput]:
    """The codes of an uploaded file (backoffice upload or paste, API `text/csv` body): one code per
    line, the first cell of a CSV line (comma, semicolon or tab), quotes around it dropped; blank
    lines and a first line naming the column (`code`) skipped. Each code says where it was
    (`line 3`, or `<source> 3`) so that `voucher_codes_add` can name it."""
    codes = []
    for number, line in enumerate(text_decode(content).splitlines(), start=1):
        cell = CELL_END.split(line, maxsplit=1)[0].strip().strip('"').strip()
        if not cell or (number == 1 and cell.lower() in VOUCHER_HEADERS):
            continue
        codes.append(VoucherCodeInput(where=f"{source} {number}", code=cell))
    return codes


@job_kind("catalog.gifts_import", permission="catalog.import_gifts", label=_("Gifts import"))
def gifts_import_run(job: Job, progress: JobProgress) -> None:
    """The job of `gift_import`: `params` holds `filename` and `dry_run`; the file is its upload."""
    with job_upload_open(job) as file:
        content = file.read()
    report = gift_import(
        content=content, filename=job.params["filename"], dry_run=bool(job.params.get("dry_run"))
    )
    progress.total(len(report.rows))
    for row in report.rows:
        if row.action == "error":
            for name, messages in row.errors.items():
                progress.error(row.line, name, " ".join(messages))
            progress.advance(1, outcome="invalid")
        else:
            progress.advance(1, outcome=f"{row.action}d")


def voucher_codes_import(*, gift_id: int, content: bytes, dry_run: bool, progress: JobProgress) -> None:
    """The codes of an uploaded file (`voucher_codes_read`) into the voucher gift's pool, line by
    line: a bad code (empty, too long, a NUL) or one repeated on an earlier line is reported on its
    line and not added; a code already in the pool is `unchanged` (a file sent twice adds nothing
    the second time); the others are added (`voucher_codes_add`), unless `dry_run`."""
    gift = Gift.objects.filter(pk=gift_id).first()
    if gift is None or gift.kind != Gift.Kind.VOUCHER:
        raise InvalidInput(str(_("This gift is not a voucher gift.")), field="gift")
    codes = voucher_codes_read(content=content)
    progress.total(len(codes))
    pooled = set(
        VoucherCode.objects.filter(gift=gift, code__in=[item.code for item in codes]).values_list(
            "code", flat=True
        )
    )
    first_seen: dict[str, str] = {}
    fresh: list[VoucherCodeInput] = []
    for item in codes:
        line = int(item.where.split()[-1])
        problem = voucher_code_problem(item.code)
        if problem is None and item.code in first_seen:
            problem = f"'{item.code}' is also on {first_seen[item.code]}"
        if problem:
            progress.error(line, "code", problem)
            progress.advance(1, outcome="invalid")
            continue
        first_seen[item.code] = item.where
        if item.code in pooled:
            progress.advance(1, outcome="unchanged")
        else:
            fresh.append(item)
    if not dry_run:
        for start in range(0, len(fresh), VOUCHER_CODES_MAX):
            voucher_codes_add(gift_id=gift.pk, codes=fresh[start : start + VOUCHER_CODES_MAX])
    if fresh:
        progress.advance(len(fresh), outcome="created")


@job_kind("catalog.codes_import", permission="catalog.import_codes", label=_("Voucher codes import"))
def voucher_codes_import_run(job: Job, progress: JobProgress) -> None:
    """The job of `voucher_codes_import`: `params` holds `gift_id` and `dry_run`."""
    with job_upload_open(job) as file:
        content = file.read()
    voucher_codes_import(
        gift_id=int(job.params["gift_id"]),
        content=content,
        dry_run=bool(job.params.get("dry_run")),
        progress=progress,
    )
