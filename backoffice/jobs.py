"""The jobs' pages (`backoffice:jobs`, `backoffice:job`): imports, exports, campaign runs and letter
batches with their live progress (`core/static/core/jobs.js` polls `backoffice:job_status`), counts,
first errors and result file (`backoffice:job_result`, streamed from the brand's private storage).
Each needs `core.view_job` and the job's kind's permission (core.jobs); a job of another brand,
or of a kind the user may not see, is a 404. Exports are started here (`backoffice:job_export`,
a POST from the members', orders' and jobs' lists)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import NotFound
from core.jobs import FILES_KEPT, job_as_dict, job_get, job_kinds, job_list, job_result_open
from core.models import Job
from loyalty.exports import export_start

JOBS_PER_PAGE = 50
# The exports a staff user may start from the lists (`backoffice:job_export`), by their URL's name.
EXPORTS = {
    "members": "loyalty.members_export",
    "ledger": "loyalty.ledger_export",
    "orders": "catalog.orders_export",
}


def _job_or_404(request: HttpRequest, job_id: int) -> Job:
    if not request.user.has_perm("core.view_job"):
        raise PermissionDenied
    try:
        return job_get(user=request.user, job_id=job_id)
    except NotFound as error:
        raise Http404(error.message) from error


def exports_allowed(*, user) -> list[tuple[str, str]]:
    """(URL name, label) of the exports `user` may start."""
    kinds = {name: job_kinds()[kind] for name, kind in EXPORTS.items()}
    return [(name, str(kind.label)) for name, kind in kinds.items() if user.has_perm(kind.permission)]


@require_GET
def jobs_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_job"):
        raise PermissionDenied
    page = Paginator(job_list(user=request.user), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(job, job_as_dict(job=job, details=False)) for job in page]
    context = {
        **admin.site.each_context(request),
        "title": _("Jobs"),
        "page": page,
        "rows": rows,
        "exports": exports_allowed(user=request.user),
    }
    return TemplateResponse(request, "core/jobs/list.html", context)


@require_GET
def job_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    status = job_as_dict(job=job)
    context = {
        **admin.site.each_context(request),
        "title": _("%(kind)s #%(id)s") % {"kind": status["kind_label"], "id": job.pk},
        "job": job,
        "status": status,
        "files_kept_days": FILES_KEPT.days,
    }
    return TemplateResponse(request, "core/jobs/detail.html", context)


@require_GET
def job_status_view(request: HttpRequest, job_id: int) -> JsonResponse:
    job = _job_or_404(request, job_id)
    return JsonResponse(job_as_dict(job=job))  # never cached: admin_view says so


@require_GET
def job_result_view(request: HttpRequest, job_id: int) -> FileResponse:
    job = _job_or_404(request, job_id)
    try:
        file = job_result_open(job=job)
    except (NotFound, FileNotFoundError) as error:
        raise Http404(_("This job has no result file.")) from error
    return FileResponse(file, as_attachment=True, filename=job.result_name or "result")


@require_POST
def job_export_view(request: HttpRequest, export: str) -> HttpResponse:
    kind = EXPORTS.get(export)
    if kind is None:
        raise Http404
    if not request.user.has_perm("core.view_job") or not request.user.has_perm(job_kinds()[kind].permission):
        raise PermissionDenied
    job = export_start(kind=kind, by=request.user)
    return redirect("backoffice:job", job_id=job.pk)
