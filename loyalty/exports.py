"""Exports of members and of the ledger, as jobs (core.jobs): a CSV streamed from a server-side
cursor into the brand's private storage, downloaded from the job's page. The portfolio rule holds:
a staff user without `loyalty.view_every_member` exports only the members whose sales rep they are
(and their ledger), and the job is shown to them alone (`visible_to`)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import audit_record
from core.errors import InvalidInput
from core.jobs import JobProgress, job_kind, job_start
from core.models import AuditEntry, Job
from core.replica import read_alias, replica_reads
from loyalty.models import LedgerEntry, Member
from loyalty.selectors.members import VIEW_EVERY_MEMBER, members_visible

_Row = TypeVar("_Row", bound=Model)

# Rows fetched per round trip of the server-side cursor.
CURSOR_CHUNK = 2000

MEMBER_COLUMNS = {
    "external_id": "external_id",
    "kind": "kind",
    "status": "status",
    "company_name": "company_name",
    "siret": "siret",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "address_line1": "address_line1",
    "address_line2": "address_line2",
    "postal_code": "postal_code",
    "city": "city",
    "country": "country",
    "language": "language",
    "sales_rep": "sales_rep__email",
    "tier": "tier__code",
    "balance": "balance",
    "is_vip": "is_vip",
    "joined_at": "joined_at",
    "last_activity_at": "last_activity_at",
}
LEDGER_COLUMNS = {
    "id": "id",
    "created_at": "created_at",
    "member_external_id": "member__external_id",
    "kind": "kind",
    "points": "points",
    "balance_after": "balance_after",
    "source": "source",
    "reason": "reason",
    "rule": "rule__name",
    "staff_user": "staff_user__email",
    "reverses": "reverses_id",
}


def export_start(*, kind: str, by: Any) -> Job:
    """Start the export `kind` (members, ledger, orders) by the staff user `by`, audited (who took
    personal data out, and when): limited to their portfolio, and shown to them alone, without
    `loyalty.view_every_member`."""
    params = {} if by.has_perm(VIEW_EVERY_MEMBER) else {"visible_to": by.pk}
    with transaction.atomic():
        job = job_start(kind=kind, params=params, by=by)
        audit_record(action=AuditEntry.Action.ACTION, obj=job, reason=_("export started"))
    return job


def _author(job: Job) -> Any:
    author = get_user_model().objects.filter(pk=job.created_by_id, is_active=True).first()
    if author is None:
        raise InvalidInput(_("The export's author is no longer an active staff user."), field="created_by")
    return author


def members_for_export(*, job: Job) -> QuerySet[Member]:
    """The members the job's author may see."""
    return members_visible(user=_author(job))


def rows_of_visible_members(rows: QuerySet[_Row], *, job: Job, member: str) -> QuerySet[_Row]:
    """`rows` limited to those whose `member` (a path to a member) the job's author may see."""
    author = _author(job)
    if author.has_perm(VIEW_EVERY_MEMBER):
        return rows
    return rows.filter(**{f"{member}__in": members_visible(user=author)})


def export_file_name(name: str) -> str:
    return f"{name}-{timezone.localdate():%Y-%m-%d}.csv"


@job_kind("loyalty.members_export", permission="loyalty.export_members", label=gettext_lazy("Members export"))
def members_export(job: Job, progress: JobProgress) -> None:
    # On the replica when there is one (core.replica); the atomic block holds the server-side cursor.
    with replica_reads(), transaction.atomic(using=read_alias()):  # one snapshot for the count and the cursor
        members = members_for_export(job=job).order_by("pk")
        progress.total(members.count())
        rows = members.values_list(*MEMBER_COLUMNS.values()).iterator(chunk_size=CURSOR_CHUNK)
        progress.csv_rows(name=export_file_name("members"), header=list(MEMBER_COLUMNS), rows=rows)


@job_kind("loyalty.ledger_export", permission="loyalty.export_ledger", label=gettext_lazy("Ledger export"))
def ledger_export(job: Job, progress: JobProgress) -> None:
    with replica_reads(), transaction.atomic(using=read_alias()):
        entries = rows_of_visible_members(LedgerEntry.objects.all(), job=job, member="member").order_by("pk")
        progress.total(entries.count())
        rows = entries.values_list(*LEDGER_COLUMNS.values()).iterator(chunk_size=CURSOR_CHUNK)
        progress.csv_rows(name=export_file_name("ledger"), header=list(LEDGER_COLUMNS), rows=rows)
