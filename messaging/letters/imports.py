"""The resellers of a launch mailing, imported from a CSV or XLSX file (the backoffice's wizard):
one row per reseller, created or updated by external id through `member_upsert` (kind reseller),
its sales rep set through `member_sales_rep_set` (audited). The file is read as the gift import
reads it (`core.tables`). All or nothing: one bad row imports no row, and every bad row is
reported with its errors, so a mailing never goes to half a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from core.errors import DomainError, InvalidInput
from core.tables import MAX_BYTES, table_read
from loyalty.selectors.sales_reps import sales_rep_find
from loyalty.services.members import MEMBER_CONTACT_FIELDS, member_sales_rep_set, member_upsert

COLUMNS = ("external_id", *MEMBER_CONTACT_FIELDS, "sales_rep")
REQUIRED_COLUMNS = ("external_id", "company_name", "address_line1", "postal_code", "city")


@dataclass
class ResellerImport:
    external_ids: list[str] = field(default_factory=list)
    # (line in the file, {column: [messages]}) of the rows refused
    errors: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)


class _Refused(Exception):
    pass


def resellers_import(*, content: bytes, filename: str, by: Any) -> ResellerImport:
    """The file's resellers, created or updated (all or none: `errors` lists the bad rows)."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // 1024 // 1024} MB", field="file")
    header, rows = table_read(content=content, filename=filename)
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise InvalidInput(f"the file has no column {', '.join(missing)}", field="file")
    if not rows:
        raise InvalidInput("the file has no reseller", field="file")
    result = ResellerImport()
    try:
        with transaction.atomic():
            for line, values in rows:
                errors = _row_import(values=values, by=by, result=result)
                if errors:
                    result.errors.append((line, errors))
            if result.errors:
                raise _Refused
    except _Refused:
        result.external_ids = []
    return result


def _row_import(*, values: dict[str, str], by: Any, result: ResellerImport) -> dict[str, list[str]]:
    external_id = values.get("external_id", "").strip()
    data = {
        name: values[name].strip()
        for name in MEMBER_CONTACT_FIELDS
        if name in values and values[name].strip()
    }
    try:
        with transaction.atomic():
            member, _created = member_upsert(
                external_id=external_id, data={"kind": "reseller", **data}, source="import"
            )
            rep = values.get("sales_rep", "").strip()
            if rep:
                member_sales_rep_set(
                    member=member, by=by, sales_rep=sales_rep_find(name=rep), reason="launch mailing import"
                )
    except DomainError as error:
        return error.errors
    result.external_ids.append(member.external_id)
    return {}
