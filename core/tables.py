"""Uploaded tables (CSV or XLSX) read into rows, for every import of the backoffice and the API:
a CSV in UTF-8 (with or without a BOM) or Windows' code page, with its delimiter sniffed; the first
sheet of an XLSX; cells as text. Bad files are the uploader's fault: `InvalidInput` on `file`."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from core.errors import InvalidInput

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024


def table_read(
    *, content: bytes, filename: str, max_rows: int = MAX_ROWS
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header (lower case) and the non-empty rows (at most `max_rows`) of an uploaded .csv or
    .xlsx file, each with its line number in the file (header = 1) and its cells by column."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        table = _xlsx_table(content)
    elif name.endswith(".csv") or name.endswith(".txt"):
        table = _csv_table(content)
    else:
        raise InvalidInput("upload a .csv or .xlsx file", field="file")
    if not table:
        raise InvalidInput("the file is empty", field="file")
    header = [cell.strip().lower() for cell in table[0]]
    rows = []
    for index, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        rows.append(
            (index, {header[i]: cell for i, cell in enumerate(cells) if i < len(header) and header[i]})
        )
    if len(rows) > max_rows:
        raise InvalidInput(f"at most {max_rows} rows per file", field="file")
    return header, rows


def text_decode(content: bytes) -> str:
    """An uploaded text file: UTF-8 (with or without a BOM), else Windows' code page."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def _csv_table(content: bytes) -> list[list[str]]:
    text = text_decode(content)
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as error:
        raise InvalidInput(f"the CSV cannot be read: {error}", field="file") from error


def _xlsx_table(content: bytes) -> list[list[str]]:
    # Imported here: openpyxl costs every process that loads the admin a few tenths of a second.
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # whatever is wrong inside an uploaded file, it is the file's fault
        raise InvalidInput("the XLSX file cannot be read", field="file") from error
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
