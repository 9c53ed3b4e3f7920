"""The import pages: upload a file (`backoffice:import`, from the "Import" buttons of the members',
gifts' and a voucher gift's pages), see its dry run as a job with its per-row errors
(`backoffice:import_preview`), then "Import the N good rows" (`backoffice:import_confirm`): the
same file imported by a job of the same kind, whose page (`backoffice:job`) shows its progress.
Each needs the kind's permission (`loyalty.import_members`...) and, for the preview, `core.view_job`."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from catalog.imports import COLUMNS as GIFT_COLUMNS
from catalog.models import Gift
from core.errors import NotFound
from core.jobs import job_as_dict, job_get, job_kind_get, job_upload_open
from core.models import Job
from loyalty.imports import events as event_imports
from loyalty.imports import import_start
from loyalty.imports import members as member_imports


@dataclass(frozen=True)
class ImportPage:
    kind: str  # the job kind (core.jobs)
    title: object
    columns: object  # what the file holds, for the upload page
    back: str  # the list it starts from (URL name)


IMPORTS = {
    "members": ImportPage(
        kind="loyalty.members_import",
        title=gettext_lazy("Import members"),
        columns=", ".join(member_imports.COLUMNS),
        back="admin:loyalty_member_changelist",
    ),
    "events": ImportPage(
        kind="loyalty.events_import",
        title=gettext_lazy("Import past events"),
        columns=", ".join(event_imports.REQUIRED)
        + gettext_lazy(", then one column per attribute (amount...)"),
        back="admin:loyalty_member_changelist",
    ),
    "gifts": ImportPage(
        kind="catalog.gifts_import",
        title=gettext_lazy("Import gifts"),
        columns=", ".join(GIFT_COLUMNS),
        back="admin:catalog_gift_changelist",
    ),
    "codes": ImportPage(
        kind="catalog.codes_import",
        title=gettext_lazy("Import voucher codes"),
        columns=gettext_lazy("one code per line (the first cell of a CSV line)"),
        back="admin:catalog_gift_changelist",
    ),
}
KIND_PAGES = {page.kind: name for name, page in IMPORTS.items()}


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (.csv or .xlsx)"))


def _page(request: HttpRequest, name: str) -> ImportPage:
    page = IMPORTS.get(name)
    if page is None:
        raise Http404
    if not request.user.has_perm(job_kind_get(page.kind).permission):
        raise PermissionDenied
    return page


def _params(request: HttpRequest, name: str) -> dict:
    """A voucher code import's gift (`?gift=<id>`): a voucher gift of this brand, else a 404."""
    if name != "codes":
        return {}
    gift = get_object_or_404(Gift, pk=request.GET.get("gift") or 0, kind=Gift.Kind.VOUCHER)
    return {"gift_id": gift.pk, "gift_name": gift.name}


def import_view(request: HttpRequest, name: str) -> HttpResponse:
    """The upload form; its POST starts the dry run and shows its preview."""
    page = _page(request, name)
    params = _params(request, name)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = import_start(
            kind=page.kind,
            content=upload.read(),
            filename=upload.name,
            dry_run=True,
            by=request.user,
            **params,
        )
        return redirect("backoffice:import_preview", job_id=job.pk)
    context = {
        **admin.site.each_context(request),
        "title": page.title,
        "page": page,
        "form": form,
        "gift_name": params.get("gift_name", ""),
        "back": reverse(page.back),
    }
    return TemplateResponse(request, "backoffice/imports/upload.html", context)


def _dry_run_or_404(request: HttpRequest, job_id: int) -> tuple[Job, ImportPage]:
    if not request.user.has_perm("core.view_job"):
        raise PermissionDenied
    try:
        job = job_get(user=request.user, job_id=job_id)
    except NotFound as error:
        raise Http404(error.message) from error
    name = KIND_PAGES.get(job.kind)
    if name is None or not job.params.get("dry_run"):
        raise Http404
    return job, IMPORTS[name]


def _good_rows(job: Job) -> int:
    return sum(count for outcome, count in job.counts.items() if outcome in ("created", "updated"))


def import_preview(request: HttpRequest, job_id: int) -> HttpResponse:
    """The dry run's job page, with "Import the N good rows" once it is done."""
    job, page = _dry_run_or_404(request, job_id)
    status = job_as_dict(job=job)
    context = {
        **admin.site.each_context(request),
        "title": _("%(title)s: the check of %(file)s")
        % {"title": page.title, "file": job.params["filename"]},
        "job": job,
        "status": status,
        "page": page,
        "page_name": KIND_PAGES[job.kind],
        "good": _good_rows(job),
        "back": reverse(page.back),
    }
    return TemplateResponse(request, "backoffice/imports/preview.html", context)


@require_POST
def import_confirm(request: HttpRequest, job_id: int) -> HttpResponse:
    """Import the file of a finished dry run (its good rows; the bad ones are reported again)."""
    job, page = _dry_run_or_404(request, job_id)
    if job.state != Job.State.DONE:
        raise Http404
    if not request.user.has_perm(job_kind_get(page.kind).permission):
        raise PermissionDenied
    with job_upload_open(job) as file:
        content = file.read()
    params = {
        key: value for key, value in job.params.items() if key not in ("filename", "dry_run", "upload_path")
    }
    params = {key: value for key, value in params.items() if not key.startswith("_")}
    started = import_start(
        kind=page.kind,
        content=content,
        filename=job.params["filename"],
        dry_run=False,
        by=request.user,
        **params,
    )
    return redirect("backoffice:job", job_id=started.pk)
