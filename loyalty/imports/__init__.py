"""Imports of files as jobs of `core.jobs`, each with a dry run first: members and past events here
(`members`, `events`), gifts and voucher codes in `catalog.imports`. Importing this package
registers the loyalty kinds (as `core.jobs.job_kinds` does)."""

from __future__ import annotations

from typing import Any

from core.jobs import job_start
from core.models.jobs import Job


def import_start(*, kind: str, content: bytes, filename: str, dry_run: bool, by: Any, **params: Any) -> Job:
    """Queue the import job `kind` of this file (a dry run, or the import), started by `by`."""
    return job_start(
        kind=kind,
        params={"filename": filename, "dry_run": dry_run, **params},
        by=by,
        upload=content,
        upload_name=filename,
    )


from loyalty.imports import events, members  # noqa: E402, F401  (registers the job kinds)
