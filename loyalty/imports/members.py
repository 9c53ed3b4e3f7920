"""Members from a CSV or XLSX file (such as 10,000 resellers: company, SIRET, address, phone, their
sales rep by e-mail), as a job with a dry run first.

Semantics, as the gift import's (`catalog/imports.py`): every row is checked on its own, by the
checks of `member_upsert` (`member_input_check`, `member_fields_set`); good rows are created or
updated by external id, bad rows are reported (line, field, message) and never written; a dry run
checks and counts exactly the same way and writes nothing. An external id on two rows of one file is
an error on each. A row that changes nothing is `unchanged` and not written, so a file imported twice
changes nothing the second time. A column left out of the file keeps the members' value; a blank
cell clears it (a blank `kind` or `language` keeps it). `sales_rep`: a staff user's e-mail or
username, blank for none; each change is in the member's audit, as the API's.

Speed: rows go by chunks of `CHUNK_ROWS`, each in one transaction: the chunk's members are read (and
locked) by one query; the new ones are checked on one reused instance and written by COPY
(`core.db.values_insert`), the changed ones by one UPDATE (`bulk_update`), their sales rep changes
by COPY. A chunk the database refuses whole (a member created meanwhile with the same external id)
is done again row by row, so one row's refusal is reported on that row only; a row is written
whole or not at all.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import insert_fields, values_insert
from core.errors import InvalidInput
from core.jobs import JobProgress, job_kind, job_upload_open
from core.models.jobs import Job
from core.tables import table_read
from loyalty.models import Member, MemberAudit
from loyalty.selectors.programme import programme_settings
from loyalty.services.members import MEMBER_CONTACT_FIELDS, member_fields_set, member_input_check
from loyalty.signals import MemberChange, changes_send, members_changed

COLUMNS = ("external_id", "kind", *MEMBER_CONTACT_FIELDS, "tags", "sales_rep")
# Columns whose blank cell keeps the member's value (they have no blank value).
KEPT_WHEN_BLANK = ("kind", "language")
# The fields a row may set (the member's own columns the import compares and writes).
WRITTEN = ("kind", *MEMBER_CONTACT_FIELDS, "tags", "sales_rep_id")
MAX_ROWS = 200_000
MAX_BYTES = 64 * 1024 * 1024
CHUNK_ROWS = 1000


@dataclass
class _Row:
    line: int
    external_id: str
    data: dict[str, Any] = field(default_factory=dict)
    rep_set: bool = False  # the file has a `sales_rep` column
    rep_id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def members_import(
    *, content: bytes, filename: str, dry_run: bool, by: Any, reason: str, progress: JobProgress
) -> None:
    """Import (or, `dry_run`, check) the members of the file: see the module's docstring. Counts
    and per-row errors go to `progress`; a CSV report of every bad row is its result file."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // 1024 // 1024} MB", field="file")
    header, cells = table_read(content=content, filename=filename, max_rows=MAX_ROWS)
    _header_check(header)
    progress.total(len(cells))
    rows = _rows_read(header, cells)
    report = io.StringIO()
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        for row in chunk:
            if row.errors:
                _report(progress, report, row)
        good = [row for row in chunk if not row.errors]
        for row, outcome in _chunk_import(good, dry_run=dry_run, by=by, reason=reason):
            if row.errors:
                _report(progress, report, row)
            else:
                progress.advance(1, outcome=outcome)
    if report.tell():
        progress.result(
            ("line,external_id,field,message\n" + report.getvalue()).encode(), "member-errors.csv"
        )


@job_kind("loyalty.members_import", permission="loyalty.import_members", label=_("Members import"))
def members_import_run(job: Job, progress: JobProgress) -> None:
    """The job: `params` holds `filename` and `dry_run`; the file is the job's upload."""
    with job_upload_open(job) as file:
        content = file.read()
    dry_run = bool(job.params.get("dry_run"))
    members_import(
        content=content,
        filename=job.params["filename"],
        dry_run=dry_run,
        by=job.created_by,
        reason=f"import (job {job.pk})",
        progress=progress,
    )


def _header_check(header: list[str]) -> None:
    if "external_id" not in header:
        raise InvalidInput("missing column: external_id", field="file")
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"unknown column(s): {', '.join(unknown)} (the columns are: {', '.join(COLUMNS)})", field="file"
        )
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise InvalidInput(f"repeated column(s): {', '.join(repeated)}", field="file")


def _reps() -> dict[str, int | None]:
    """Active staff users by username and by e-mail in lower case (None: an e-mail two share)."""
    found: dict[str, int | None] = {}
    users = (
        get_user_model().objects.filter(is_staff=True, is_active=True).values_list("pk", "username", "email")
    )
    for pk, username, email in users:
        found[username] = pk
        if email:
            key = email.lower()
            found[key] = None if key in found and found[key] != pk else pk
    return found


def _rows_read(header: list[str], cells: list[tuple[int, dict[str, str]]]) -> list[_Row]:
    """Each row's fields, checked alone (`member_input_check`) and for an external id repeated."""
    reps = _reps()
    rows: list[_Row] = []
    lines: dict[str, list[int]] = {}
    for line, values in cells:
        row = _Row(line=line, external_id=values.get("external_id", "").strip())
        lines.setdefault(row.external_id, []).append(line)
        data: dict[str, Any] = {}
        for name in header:
            if name in ("", "external_id", "sales_rep"):
                continue
            value = values.get(name, "").strip()
            if name in KEPT_WHEN_BLANK and not value:
                continue
            if name == "tags":
                data[name] = [tag.strip() for tag in value.split(",") if tag.strip()]
            else:
                data[name] = value.lower() if name == "kind" else value
        try:
            row.external_id, row.data = member_input_check(external_id=row.external_id, data=data)
        except InvalidInput as error:
            row.errors.update(error.errors)
        if "sales_rep" in header:
            row.rep_set = True
            name = values.get("sales_rep", "").strip()
            if name:
                row.rep_id = reps.get(name, reps.get(name.lower()))
                if row.rep_id is None:
                    row.errors["sales_rep"] = [
                        f"several staff users have the e-mail '{name}': give the username"
                        if name.lower() in reps
                        else f"'{name}' is not an active staff user's e-mail or username"
                    ]
        rows.append(row)
    for row in rows:
        same = lines.get(row.external_id, [])
        if row.external_id and len(same) > 1:
            row.errors.setdefault("external_id", []).append(
                f"'{row.external_id}' appears on rows {', '.join(map(str, same))}"
            )
    return rows


def _chunk_import(rows: list[_Row], *, dry_run: bool, by: Any, reason: str) -> list[tuple[_Row, str]]:
    """Each row of the chunk with its outcome (its `errors` set if it was refused)."""
    if not rows:
        return []
    try:
        with transaction.atomic():
            return _chunk_write(rows, dry_run=dry_run, by=by, reason=reason)
    except IntegrityError:
        pass  # done again row by row: the refusal is reported on its row only
    done = []
    for row in rows:
        try:
            with transaction.atomic():
                done += _chunk_write([row], dry_run=dry_run, by=by, reason=reason)
        except IntegrityError as error:
            row.errors["row"] = [f"refused by the database: {error}".splitlines()[0]]
            done.append((row, "invalid"))
    return done


def _chunk_write(rows: list[_Row], *, dry_run: bool, by: Any, reason: str) -> list[tuple[_Row, str]]:
    members = Member.objects.filter(external_id__in=[row.external_id for row in rows])
    existing = {
        member.external_id: member for member in (members if dry_run else members.select_for_update())
    }
    now = timezone.now()
    settings = programme_settings()
    # A new member is checked on one unsaved instance, reset to a new member's values for each row,
    # and inserted from its values: building an instance per row cost a third of an import. Its
    # defaults are read once (the model's default language costs a query each).
    scratch = Member(
        joined_at=now,
        overdraft_limit=settings.overdraft_limit,
        language=settings.default_language or django_settings.LANGUAGE_CODE,
        created_at=now,
        updated_at=now,
    )
    fresh = dict(scratch.__dict__)
    columns = [field.attname for field in insert_fields(Member)]
    done: list[tuple[_Row, str]] = []
    created: list[dict[str, Any]] = []
    updated: list[Member] = []
    reps: list[tuple[str, int | None, int | None]] = []  # external id, rep before, rep after
    for row in rows:
        member = existing.get(row.external_id)
        if member is not None and member.status == Member.Status.ANONYMISED:
            row.errors["external_id"] = ["the member is anonymised: their details can no longer be set"]
            done.append((row, "invalid"))
            continue
        if member is None:
            member = scratch
            member.__dict__.update(fresh, external_id=row.external_id, tags=[])
        elif _unchanged(member, row):  # its values were checked when they were set
            done.append((row, "unchanged"))
            continue
        before = {name: getattr(member, name) for name in WRITTEN}
        try:
            member_fields_set(member=member, data=row.data)
        except InvalidInput as error:
            row.errors.update(error.errors)
            done.append((row, "invalid"))
            continue
        if row.rep_set:
            member.sales_rep_id = row.rep_id
        if member is scratch:
            created.append({name: getattr(member, name) for name in columns})
            done.append((row, "created"))
        elif any(getattr(member, name) != value for name, value in before.items()):
            member.updated_at = now
            updated.append(member)
            done.append((row, "updated"))
        else:
            done.append((row, "unchanged"))
            continue
        if member.sales_rep_id != before["sales_rep_id"]:
            reps.append((row.external_id, before["sales_rep_id"], member.sales_rep_id))
    if dry_run:
        return done
    ids = dict(
        zip([values["external_id"] for values in created], values_insert(Member, created), strict=True)
    )
    Member.objects.bulk_update(updated, fields=[*WRITTEN, "updated_at"])
    ids.update((member.external_id, member.pk) for member in updated)
    values_insert(
        MemberAudit,
        [
            {
                "member_id": ids[external_id],
                "action": MemberAudit.Action.SALES_REP,
                "by_id": by.pk if by is not None else None,
                "reason": reason,
                "before": {"sales_rep": old},
                "after": {"sales_rep": new},
                "at": now,
            }
            for external_id, old, new in reps
        ],
    )
    changes_send(
        members_changed,
        [MemberChange(member_id=ids[values["external_id"]], created=True) for values in created]
        + [MemberChange(member_id=member.pk, created=False) for member in updated],
    )
    return done


def _unchanged(member: Member, row: _Row) -> bool:
    """Whether the row sets nothing new on the member (None clears a text, as when set)."""
    if row.rep_set and member.sales_rep_id != row.rep_id:
        return False
    return all(getattr(member, name) == ("" if value is None else value) for name, value in row.data.items())


def _report(progress: JobProgress, report: io.StringIO, row: _Row) -> None:
    """A bad row: its errors to the job (one per field), counted `invalid`, and into the report."""
    writer = csv.writer(report)
    for name, messages in row.errors.items():
        message = " ".join(str(text) for text in messages)
        progress.error(row.line, name or "row", message)
        writer.writerow([row.line, row.external_id, name or "row", message])
    progress.advance(1, outcome="invalid")
