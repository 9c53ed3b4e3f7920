"""Past events from a CSV or XLSX file (back-loaded purchases...), as a job with a dry run first.

Each row is an event recorded through the events service (`events_record_batch`), so the earning
rules apply as they did on the event's date, and its `id` column is its idempotency key (the key
`POST /events/batch` takes): a row already recorded, by an earlier import or by the API, is
`unchanged` and earns nothing twice. Columns: `id`, `member` (external id), `type`, `occurred_at`
(ISO 8601; without an offset, in the brand's timezone); every other column is an attribute of the
event (`amount`, `currency`, `store`...; a leading `attributes.` is dropped), a blank cell none.
A bad row (a cell missing, a date that does not read, an unknown member, an event the service
refuses) is reported and not recorded; the others are. The dry run records the rows in a transaction
that it rolls back: it answers exactly what the import will do, points included.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, InvalidInput
from core.jobs import JobProgress, job_kind, job_upload_open
from core.models.jobs import Job
from core.tables import table_read
from loyalty.services.events import BATCH_MAX, EventInput, events_record_batch
from tenants.selectors import brand_timezone

REQUIRED = ("id", "member", "type", "occurred_at")
MAX_ROWS = 200_000
MAX_BYTES = 64 * 1024 * 1024
ATTRIBUTE_PREFIX = "attributes."


def events_import(*, content: bytes, filename: str, dry_run: bool, progress: JobProgress) -> int:
    """Record (or, `dry_run`, try and roll back) the events of the file: see the module's
    docstring. Counts and per-row errors go to `progress`, a CSV of the bad rows is its result
    file. Returns the points the recorded rows earned."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // 1024 // 1024} MB", field="file")
    header, cells = table_read(content=content, filename=filename, max_rows=MAX_ROWS)
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise InvalidInput(f"missing column(s): {', '.join(missing)}", field="file")
    progress.total(len(cells))
    report = io.StringIO()
    writer = csv.writer(report)
    points = 0

    def bad(line: int, key: str, name: str, message: str) -> None:
        progress.error(line, name, message)
        writer.writerow([line, key, name, message])

    local = brand_timezone()
    for start in range(0, len(cells), BATCH_MAX):
        items: list[tuple[int, EventInput]] = []
        for line, values in cells[start : start + BATCH_MAX]:
            try:
                items.append((line, _event_read(values, local=local)))
            except InvalidInput as error:
                for name, messages in error.errors.items():
                    bad(line, values.get("id", ""), name or "row", " ".join(messages))
                progress.advance(1, outcome="invalid")
        with transaction.atomic():
            results = events_record_batch(items=[item for _, item in items]) if items else []
            if dry_run:
                transaction.set_rollback(True)
        for (line, item), result in zip(items, results, strict=True):
            failure = result.get("error")
            if failure is not None:
                bad(line, item.idempotency_key, _column(failure), failure.message)
                progress.advance(1, outcome="invalid")
            elif result.get("replayed"):
                progress.advance(1, outcome="unchanged")
            else:
                points += result["points_awarded"]
                progress.advance(1, outcome="created")
    if report.tell():
        progress.result(("line,id,field,message\n" + report.getvalue()).encode(), "event-errors.csv")
    return points


@job_kind("loyalty.events_import", permission="loyalty.import_events", label=_("Past events import"))
def events_import_run(job: Job, progress: JobProgress) -> None:
    """The job: `params` holds `filename` and `dry_run`; the file is the job's upload."""
    with job_upload_open(job) as file:
        content = file.read()
    points = events_import(
        content=content,
        filename=job.params["filename"],
        dry_run=bool(job.params.get("dry_run")),
        progress=progress,
    )
    job.message = str(_("%(points)s points awarded.") % {"points": points})


def _event_read(values: dict[str, str], *, local: Any) -> EventInput:
    """A row as the events service takes it; InvalidInput naming each bad cell."""
    errors: dict[str, list[str]] = {}
    for name in REQUIRED:
        if not values.get(name, "").strip():
            errors[name] = ["is required"]
    occurred_at = None
    text = values.get("occurred_at", "").strip()
    if text:
        try:
            occurred_at = datetime.fromisoformat(text)
        except ValueError:
            errors["occurred_at"] = [f"'{text}' is not an ISO 8601 date-time, such as 2026-03-01 18:30"]
        else:
            if timezone.is_naive(occurred_at):
                occurred_at = timezone.make_aware(occurred_at, local)
    if errors:
        raise InvalidInput(errors)
    attributes = {
        name.removeprefix(ATTRIBUTE_PREFIX): value.strip()
        for name, value in values.items()
        if name not in REQUIRED and value.strip()
    }
    assert occurred_at is not None
    return EventInput(
        member=values["member"].strip(),
        type=values["type"].strip(),
        occurred_at=occurred_at,
        attributes=attributes,
        idempotency_key=values["id"].strip(),
    )


def _column(error: DomainError) -> str:
    """The file's column an error of the service is about (its `idempotency_key` is the `id`)."""
    name = error.field or "row"
    return {"idempotency_key": "id"}.get(name, name)
