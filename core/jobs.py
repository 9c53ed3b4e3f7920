"""Long work as a job (`core.models.Job`): imports, exports, campaigns and letter batches.

An app registers what a kind of job does:

    @job_kind("loyalty.members_export", permission="loyalty.export_members", label=_("Members export"))
    def members_export(job: Job, progress: JobProgress) -> None: ...

in a module `exports`, `imports` or `jobs` of the app (found by `job_kinds()`, like admin modules).
`job_start` writes the row (an upload kept in the brand's private storage, its name in
`params["upload_path"]`) and queues the Celery task `core.job_run(job_id)` after commit, in the
brand's schema. The worker runs the kind's function with a `JobProgress`: its counts, errors and
result file land in the row, written on a connection of the job's own (autocommitted, so they show
while the work's own transactions are still open, and stay when one rolls back), at most every
`PROGRESS_EVERY_SECONDS`. State lives in the row and work in Celery: a web restart loses nothing.
A kind's function never writes its own row (it would wait, inside its own transaction, for the
progress's connection); it may set `job.message`, the summary saved when it ends.

The worker holds a PostgreSQL advisory lock named by the brand's schema and the job's id for as long
as it runs; the beat sweep (`core.jobs_sweep_all`) takes that lock to learn that the worker died (its
connection closed, so the lock went with it): the job is queued again once (its work must be safe to
do twice: imports upsert, exports write their file again), then marked failed. A queued job that no
worker took (the broker lost the task) is queued again; a copy queued twice runs once.

Kinds registered with no function (campaign runs, letter batches) are rows that their own app keeps
up to date from its own progress, once per chunk, never once per message.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import IO, Any

from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants.selectors import brand_timezone, schema_current

from .errors import DomainError, InvalidInput, NotFound
from .models.jobs import Job
from .storage import private_storage

logger = logging.getLogger(__name__)

# Progress is written at most this often (and when the job ends), never once per item.
PROGRESS_EVERY_SECONDS = 0.5
# Errors kept in the row (the first ones); `error_count` counts them all.
ERRORS_KEPT = 1000
# A job whose worker died is run again this many times in all, then marked failed.
ATTEMPTS_MAX = 2
# A queued job that no worker took after this long is queued again (at most once per this long).
REQUEUE_AFTER = timedelta(seconds=60)
# A finished job's files (its upload, its result: personal data) are deleted after this long.
FILES_KEPT = timedelta(days=7)
# Brands' schemas looked at per statement by the sweep.
SCHEMAS_PER_LOOK = 200
# Seconds a job may run (Celery's hard limit for `core.job_run`; the default limit is for short tasks).
TIME_LIMIT = 3 * 3600

# The outcomes jobs count (`JobProgress.advance`), in words; another is shown as it is named.
OUTCOME_LABELS = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "unchanged": gettext_lazy("unchanged"),
    "skipped": gettext_lazy("skipped"),
    "invalid": gettext_lazy("invalid"),
    "failed": gettext_lazy("failed"),
    "exported": gettext_lazy("exported"),
    "recorded": gettext_lazy("recorded"),
    "replayed": gettext_lazy("already recorded"),
    "printed": gettext_lazy("printed"),
}

JobRun = Callable[[Job, "JobProgress"], None]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its name (`Job.kind`), the permission needed to start it, see it and read
    its result (with `core.view_job`), its label, and what runs it (None: its app runs it)."""

    name: str
    permission: str
    label: str
    run: JobRun | None
    # Read when the page is shown (kinds run by their app): live counts and the app's own page.
    details: Callable[[Job], JobDetails] | None = None
    link: Callable[[Job], str] | None = None


@dataclass(frozen=True)
class JobDetails:
    """What a kind run by its app counts live (messages by state), and whether that still moves
    once the job has ended (sends still leaving: the page keeps polling)."""

    counts: dict[str, int]
    live: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # each count's name in words


_KINDS: dict[str, JobKind] = {}
_discovered = False


def job_kind(name: str, *, permission: str, label: Any = "") -> Callable[[JobRun], JobRun]:
    """Register the decorated `run(job, progress)` as what runs the jobs of kind `name`."""

    def register(run: JobRun) -> JobRun:
        job_kind_register(name=name, permission=permission, label=label, run=run)
        return run

    return register


def job_kind_register(
    *,
    name: str,
    permission: str,
    label: Any = "",
    run: JobRun | None = None,
    details: Callable[[Job], JobDetails] | None = None,
    link: Callable[[Job], str] | None = None,
) -> None:
    """Register a kind; with no `run`, its rows are kept up to date by their app (campaign runs),
    which may give `details` (counts read live, as messages by state) and a `link` to its page."""
    if len(name) > (Job._meta.get_field("kind").max_length or 0):
        raise ValueError(f"job kind name too long: {name}")
    _KINDS[name] = JobKind(
        name=name, permission=permission, label=label or name, run=run, details=details, link=link
    )


def job_kinds() -> dict[str, JobKind]:
    """Every registered kind, by name (the apps' `exports`, `imports` and `jobs` modules imported once)."""
    global _discovered
    if not _discovered:
        autodiscover_modules("exports", "imports", "jobs")
        _discovered = True
    return _KINDS


def job_kind_get(name: str) -> JobKind:
    kind = job_kinds().get(name)
    if kind is None:
        raise InvalidInput(_("Unknown kind of job: %(kind)s.") % {"kind": name}, field="kind")
    return kind


# --- starting ------------------------------------------------------------------------------------


def job_start(
    *,
    kind: str,
    params: dict,
    by: Any,
    total: int | None = None,
    upload: bytes | None = None,
    upload_name: str = "",
) -> Job:
    """Create a queued job of `kind` (by the staff user `by`, None for the system) and queue its
    run after commit. `upload`: a file the job reads, kept as `params["upload_path"]` in the brand's
    private storage."""
    job_kind_get(kind)
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params=dict(params),
            created_by=by if by is not None and by.is_authenticated else None,
            total=total,
        )
        if upload is not None:
            name = _file_name(upload_name, default="upload")
            path = private_storage().save(f"jobs/{job.pk}/upload-{name}", ContentFile(upload))
            job.params["upload_path"] = path
            job.save(update_fields=["params"])
        _queue_on_commit(job.pk)
    return job


def _file_name(name: str, *, default: str) -> str:
    """A name safe in a folder of the brand's storage (no path, no odd characters)."""
    try:
        return get_valid_filename(os.path.basename(name))
    except SuspiciousFileOperation:  # nothing left of it
        return default


def job_upload_open(job: Job) -> IO[bytes]:
    """The job's uploaded file, opened for reading (binary); NotFound once deleted (`FILES_KEPT`)."""
    path = job.params.get("upload_path")
    if not path or not private_storage().exists(path):
        raise NotFound(_("This job's file is no longer kept."), field="job")
    return private_storage().open(path, "rb")


def _queue_on_commit(job_id: int) -> None:
    from .outbox import enqueue_on_commit
    from .tasks import job_run_task

    enqueue_on_commit(job_run_task, job_id)


def _queue(*, schema_name: str, job_id: int) -> bool:
    from .outbox import task_send
    from .tasks import job_run_task

    return task_send(task=job_run_task, schema_name=schema_name, args=(job_id,))


# --- the job's own connection --------------------------------------------------------------------


_JSON_FIELDS = ("counts", "errors", "params")
_PROGRESS_FIELDS = ["total", "done", "counts", "errors", "error_count", "result_path", "result_name"]


def _lock_key(schema_name: str, job_id: int) -> str:
    return f"core.job:{schema_name}:{job_id}"


class _JobConnection:
    """A connection of the job's own, autocommitted: it holds the advisory lock that says the job's
    worker is alive, and writes the job's progress outside the work's transactions."""

    def __init__(self, schema_name: str) -> None:
        self.schema_name = schema_name
        quote = connection.ops.quote_name
        self.table = f"{quote(schema_name)}.{quote(Job._meta.db_table)}"
        self.wrapper = connections.create_connection(DEFAULT_DB_ALIAS)

    def execute(self, sql: str, params: list | tuple) -> list[tuple]:
        with self.wrapper.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def lock(self, job_id: int) -> bool:
        rows = self.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [_lock_key(self.schema_name, job_id)]
        )
        return bool(rows[0][0])

    def unlock(self, job_id: int) -> None:
        key = _lock_key(self.schema_name, job_id)
        self.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])

    def claim(self, job_id: int) -> bool:
        """queued -> running (False: another copy of the task ran it, or it is done)."""
        rows = self.execute(
            f"UPDATE {self.table} SET state = 'running', started_at = now() "  # noqa: S608
            "WHERE id = %s AND state = 'queued' RETURNING id",
            [job_id],
        )
        return bool(rows)

    def write(self, job: Job, *, fields: list[str]) -> None:
        values: list[Any] = []
        sets: list[str] = []
        for name in fields:
            value = getattr(job, name)
            if name in _JSON_FIELDS:
                values.append(json.dumps(value))
                sets.append(f"{connection.ops.quote_name(name)} = %s::jsonb")
            else:
                values.append(value)
                sets.append(f"{connection.ops.quote_name(name)} = %s")
        self.execute(f"UPDATE {self.table} SET {', '.join(sets)} WHERE id = %s", [*values, job.pk])  # noqa: S608

    def close(self) -> None:
        self.wrapper.close()  # the advisory lock goes with the session


# --- progress ------------------------------------------------------------------------------------


class JobProgress:
    """What a running job reports: `total(n)` once known, `advance(n, outcome)` per item done
    (counted by outcome: created, updated, skipped, invalid...), `error(row, field, message)` per
    error (it does not advance: the caller counts the item with its outcome), `result(content, name)`
    or `result_open(name)` for the result file. Written to the row at most every
    `PROGRESS_EVERY_SECONDS`, and when the job ends."""

    def __init__(self, *, job: Job, writer: _JobConnection) -> None:
        self.job = job
        self._writer = writer
        self._written_at = time.monotonic()

    def total(self, n: int) -> None:
        self.job.total = max(n, self.job.done)
        self._maybe_write()

    def advance(self, n: int = 1, outcome: str = "created") -> None:
        job = self.job
        job.done += n
        if job.total is not None and job.done > job.total:
            job.total = job.done
        job.counts[outcome] = job.counts.get(outcome, 0) + n
        self._maybe_write()

    def error(self, row: int | None, field: str, message: str) -> None:
        job = self.job
        job.error_count += 1
        if len(job.errors) < ERRORS_KEPT:
            job.errors.append({"row": row, "field": field, "message": str(message)})
        self._maybe_write()

    def result(self, content: bytes, name: str) -> None:
        with self.result_open(name) as file:
            file.write(content)

    @contextmanager
    def result_open(self, name: str) -> Iterator[IO[bytes]]:
        """Write the result file as a stream (a large export never sits in memory)."""
        storage = private_storage()
        path = f"jobs/{self.job.pk}/{_file_name(name, default='result')}"
        full = storage.path(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as file:
            yield file
        self.job.result_path, self.job.result_name = path, name
        self.write()

    @contextmanager
    def csv_open(self, name: str) -> Iterator[Any]:
        """A `csv.writer` on the result file (UTF-8 with a BOM, so spreadsheets read accents)."""
        with self.result_open(name) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            yield csv.writer(text)
            text.flush()
            text.detach()

    def csv_rows(self, *, name: str, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
        """The result as a CSV file of `header` then `rows`, written as they come (give an iterator
        over a server-side cursor: an export of millions of rows never sits in memory), each row
        counted `exported`. Times in the brand's timezone (ISO 8601)."""
        zone = brand_timezone()
        with self.csv_open(name) as writer:
            writer.writerow(header)
            for row in rows:
                writer.writerow([csv_cell(value, zone) for value in row])
                self.advance(outcome="exported")

    def _maybe_write(self) -> None:
        if time.monotonic() - self._written_at >= PROGRESS_EVERY_SECONDS:
            self.write()

    def write(self) -> None:
        self._writer.write(self.job, fields=_PROGRESS_FIELDS)
        self._written_at = time.monotonic()

    def end(self, *, state: str, message: str = "") -> None:
        job = self.job
        job.state, job.message, job.finished_at = state, message, timezone.now()
        self._writer.write(job, fields=[*_PROGRESS_FIELDS, "state", "message", "finished_at"])


def csv_cell(value: Any, zone: tzinfo) -> str:
    """A value as a CSV cell. A text a spreadsheet would run as a formula (=, @, +/- before a
    non-digit, a tab or a carriage return first) gets a leading apostrophe (OWASP's advice); a
    phone number's + stays."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    text = str(value)
    if (
        isinstance(value, str)
        and text
        and (text[0] in "=@\t\r" or (text[0] in "+-" and not text[1:2].isdigit()))
    ):
        return "'" + text
    return text


# --- running (the task core.job_run) -------------------------------------------------------------


def job_run(*, job_id: int) -> None:
    """Run the queued job `job_id` of the current brand, once: a copy of the task that finds it
    running elsewhere, done or failed does nothing."""
    writer = _JobConnection(schema_current())
    try:
        if not writer.lock(job_id) or not writer.claim(job_id):
            return
        job = Job.objects.get(pk=job_id)
        progress = JobProgress(job=job, writer=writer)
        try:
            kind = job_kind_get(job.kind)
            if kind.run is None:
                raise InvalidInput(_("This kind of job is not run by the job runner."), field="kind")
            kind.run(job, progress)
        except DomainError as error:
            progress.end(state=Job.State.FAILED, message=error.message)
        except Exception:
            logger.exception("job %s (%s) failed in %s", job_id, job.kind, writer.schema_name)
            progress.end(state=Job.State.FAILED, message=_("An unexpected error stopped the job (logged)."))
        else:
            progress.end(state=Job.State.DONE, message=job.message)
    finally:
        writer.close()


# --- the sweep -----------------------------------------------------------------------------------


def _runner_kinds() -> list[str]:
    return [name for name, kind in job_kinds().items() if kind.run is not None]


def jobs_files_purge(*, now: datetime | None = None) -> int:
    """Delete the files (upload, result) of the current brand's jobs finished more than
    `FILES_KEPT` ago: an export or an import holds people's personal data, kept no longer than
    needed. The rows stay, saying so (`params["files_deleted"]`). How many jobs lost their files."""
    cutoff = (now or timezone.now()) - FILES_KEPT
    storage = private_storage()
    old = Job.objects.filter(kind__in=_runner_kinds(), finished_at__lt=cutoff).filter(
        ~Q(result_path="") | Q(params__has_key="upload_path")
    )
    purged = 0
    for job in old:
        for path in (job.result_path, job.params.pop("upload_path", "")):
            if path and storage.exists(path):
                storage.delete(path)
        job.result_path, job.params["files_deleted"] = "", True
        job.save(update_fields=["result_path", "params"])
        purged += 1
    return purged


def jobs_sweep() -> int:
    """In the current brand: a running job whose worker died (its lock is free) is queued again
    (or failed after `ATTEMPTS_MAX` runs); a queued job no worker took is queued again; the files
    of old jobs are deleted (`jobs_files_purge`). The number of jobs queued."""
    schema_name = schema_current()
    jobs_files_purge()
    ours = Job.objects.filter(kind__in=_runner_kinds())
    writer = _JobConnection(schema_name)
    queued = 0
    try:
        for job in ours.filter(state=Job.State.RUNNING).only("pk", "params"):
            if not writer.lock(job.pk):
                continue  # its worker is alive
            try:
                attempts = int(job.params.get("_attempts", 1))
                if attempts < ATTEMPTS_MAX:
                    params = {**job.params, "_attempts": attempts + 1}
                    again = writer.execute(
                        f"UPDATE {writer.table} SET state = 'queued', started_at = NULL, done = 0, "  # noqa: S608
                        "counts = '{}', errors = '[]', error_count = 0, params = %s::jsonb "
                        "WHERE id = %s AND state = 'running' RETURNING id",
                        [json.dumps(params), job.pk],
                    )
                else:
                    again = []
                    writer.execute(
                        f"UPDATE {writer.table} SET state = 'failed', finished_at = now(), message = %s "  # noqa: S608
                        "WHERE id = %s AND state = 'running'",
                        [_("The worker running this job stopped, %(n)s times.") % {"n": attempts}, job.pk],
                    )
            finally:
                writer.unlock(job.pk)
            if again:
                logger.warning("job %s in %s: its worker died, queued again", job.pk, schema_name)
                queued += _queue(schema_name=schema_name, job_id=job.pk)
        stale = ours.filter(state=Job.State.QUEUED, created_at__lte=timezone.now() - REQUEUE_AFTER)
        for job_id in stale.values_list("pk", flat=True):
            if cache.add(f"core.job-requeued:{job_id}", 1, timeout=REQUEUE_AFTER.total_seconds()):
                queued += _queue(schema_name=schema_name, job_id=job_id)
    finally:
        writer.close()
    return queued


def job_schemas_pending(schema_names: list[str]) -> list[str]:
    """The schemas among `schema_names` holding a queued or running job, or an old job's files
    (`jobs_files_purge`): one statement per `SCHEMAS_PER_LOOK` schemas."""
    quote = connection.ops.quote_name
    kinds, cutoff = _runner_kinds(), timezone.now() - FILES_KEPT
    pending: set[str] = set()
    for start in range(0, len(schema_names), SCHEMAS_PER_LOOK):
        chunk = schema_names[start : start + SCHEMAS_PER_LOOK]
        looks = [
            f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(schema)}.{quote(Job._meta.db_table)} "  # noqa: S608
            "WHERE state IN ('queued', 'running') OR (kind = ANY(%s) AND finished_at < %s "
            "AND (result_path <> '' OR params ? 'upload_path')))"
            for schema in chunk
        ]
        params = [value for schema in chunk for value in (schema, kinds, cutoff)]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(looks), params)
            pending.update(schema for (schema,) in cursor.fetchall())
    return [schema for schema in schema_names if schema in pending]


# --- reading (the backoffice's pages) ------------------------------------------------------------


def job_kinds_for(*, user: Any) -> list[str]:
    """The kinds whose jobs `user` may see (`core.view_job` and the kind's permission)."""
    if not user.has_perm("core.view_job"):
        return []
    return [name for name, kind in job_kinds().items() if user.has_perm(kind.permission)]


def job_list(*, user: Any) -> QuerySet[Job]:
    """The jobs `user` may see, newest first. A job started with `params["visible_to"]` (an export
    limited to its author's portfolio) is shown to that user only."""
    jobs = Job.objects.filter(kind__in=job_kinds_for(user=user)).select_related("created_by")
    if not user.is_superuser:
        jobs = jobs.filter(Q(params__visible_to__isnull=True) | Q(params__visible_to=user.pk))
    return jobs


def job_get(*, user: Any, job_id: int) -> Job:
    """One job `user` may see; NotFound otherwise (another brand's id, a kind not theirs)."""
    job = job_list(user=user).filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No such job."), field="job")
    return job


def job_result_open(*, job: Job) -> IO[bytes]:
    """The job's result file, for a download (NotFound while there is none)."""
    if not job.result_path:
        raise NotFound(_("This job has no result file."), field="job")
    return private_storage().open(job.result_path, "rb")


def job_as_dict(*, job: Job, details: bool = True) -> dict[str, Any]:
    """What the job page's script polls: state, progress, counts, the first errors, and (unless
    `details` is False, as in the list) what its kind counts live."""
    percent = None
    if job.total:
        percent = min(100, round(100 * job.done / job.total))
    elif job.state == Job.State.DONE:
        percent = 100
    kind = job_kinds().get(job.kind)
    live = kind.details(job) if details and kind and kind.details else JobDetails(counts={})
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": str(kind.label) if kind else job.kind,
        "details": live.counts,
        "link": kind.link(job) if kind and kind.link else "",
        "state": job.state,
        "state_label": str(Job.State(job.state).label),
        "created_by": (job.created_by.email or job.created_by.get_username()) if job.created_by else "",
        "total": job.total,
        "done": job.done,
        "percent": percent,
        "counts": job.counts,
        "count_rows": [[str(OUTCOME_LABELS.get(name, name)), n] for name, n in job.counts.items()],
        "detail_rows": [[str(live.labels.get(name, name)), n] for name, n in live.counts.items()],
        "errors": job.errors[:50],
        "error_count": job.error_count,
        "message": job.message,
        "has_result": bool(job.result_path),
        "finished": job.state in (Job.State.DONE, Job.State.FAILED) and not live.live,
    }
