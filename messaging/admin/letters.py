"""Backoffice: launch mailings (README, "Messaging > Letters"). "Add" is a wizard: the members (a
segment, or a CSV/XLSX file of resellers imported first), the post template, whether to issue
activation codes and add the printed catalogue; it makes a draft batch. The batch's page starts
its rendering, reloads itself while it renders (a meta refresh, no script), downloads the PDF and
the manifest, marks the batch posted, and shows the activation follow-up. The changelist links
the printed catalogue's PDF."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, re_path, reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin_base import ModelAdmin
from core.errors import DomainError
from loyalty.models import Segment
from messaging.checks import SKIP_REASONS
from messaging.letters.imports import COLUMNS, resellers_import
from messaging.letters.selectors import letter_batch_activation, letter_batch_skips
from messaging.letters.services import (
    letter_batch_create,
    letter_batch_post,
    letter_batch_start,
    print_catalogue_pdf,
)
from messaging.models import Channel, LetterBatch
from messaging.selectors.templates import templates_list

REFRESH_SECONDS = 5
ACTIONS = {
    "render": (letter_batch_start, _("Render the letters"), (LetterBatch.State.DRAFT,)),
    "posted": (letter_batch_post, _("Mark as posted"), (LetterBatch.State.READY,)),
}
FILES = {"pdf": ("application/pdf", "pdf"), "manifest": ("text/csv; charset=utf-8", "csv")}


class LetterWizardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.order_by("name"), required=False
    )
    file = forms.FileField(
        label=_("Or a file of resellers"),
        required=False,
        # format_lazy: the sentence is translated when the form is shown, not when this loads.
        help_text=format_lazy(
            _("CSV or XLSX with the columns {columns}; created or updated by external id"),
            columns=", ".join(COLUMNS),
        ),
    )
    template = forms.ChoiceField(label=_("Letter template"))
    issue_codes = forms.BooleanField(label=_("Issue an activation code to each member"), required=False)
    include_catalogue = forms.BooleanField(label=_("Add the printed catalogue's pages"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = sorted(set(templates_list(channel=Channel.POST).values_list("code", flat=True)))
        template = self.fields["template"]
        assert isinstance(template, forms.ChoiceField)
        template.choices = [(code, code) for code in codes]
        self.fields["issue_codes"].initial = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("segment")) == bool(data.get("file")):
            raise forms.ValidationError(_("Choose a segment or upload a file of resellers, one of the two."))
        return data


@admin.register(LetterBatch)
class LetterBatchAdmin(ModelAdmin):
    list_display = ["__str__", "state", "template_code", "letters_total", "letters_rendered", "created_at"]
    list_filter = ["state"]
    change_list_template = "messaging/letters/admin/change_list.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("add/", wrap(self.wizard_view), name="messaging_letterbatch_add"),
            path("<int:batch_id>/change/", wrap(self.batch_view), name="messaging_letterbatch_change"),
            re_path(
                rf"^(?P<batch_id>[0-9]+)/(?P<action>{'|'.join(ACTIONS)})/$",
                wrap(require_POST(self.action_view)),
                name="messaging_letterbatch_action",
            ),
            re_path(
                rf"^(?P<batch_id>[0-9]+)/file/(?P<kind>{'|'.join(FILES)})/$",
                wrap(self.file_view),
                name="messaging_letterbatch_file",
            ),
            path("print-catalogue/", wrap(self.catalogue_view), name="messaging_letterbatch_catalogue"),
            *super().get_urls(),
        ]

    def wizard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = LetterWizardForm(request.POST or None, request.FILES or None)
        import_errors = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                external_ids = None
                if data["file"]:
                    upload = data["file"]
                    imported = resellers_import(content=upload.read(), filename=upload.name, by=request.user)
                    import_errors = imported.errors
                    external_ids = imported.external_ids
                if not import_errors:
                    batch = letter_batch_create(
                        template=data["template"],
                        segment_id=data["segment"].pk if data["segment"] else None,
                        external_ids=external_ids,
                        issue_codes=data["issue_codes"],
                        include_catalogue=data["include_catalogue"],
                        name=data["name"],
                        by=request.user,
                        start=False,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:messaging_letterbatch_change", args=[batch.pk])
                    )
            except DomainError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("New launch mailing"),
            "form": form,
            "import_errors": import_errors,
        }
        return TemplateResponse(request, "messaging/letters/admin/wizard.html", context)

    def batch_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        batch = get_object_or_404(LetterBatch.objects.select_related("segment"), pk=batch_id)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        can_change = self.has_change_permission(request, batch)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": batch,
            "title": str(batch),
            "batch": batch,
            "reasons": [
                (reason, SKIP_REASONS.get(reason, reason), count)
                for reason, count in letter_batch_skips(batch=batch).items()
            ],
            "activation": letter_batch_activation(batch=batch),
            "actions": [
                (action, label)
                for action, (_service, label, states) in ACTIONS.items()
                if can_change and batch.state in states
            ],
            "files": batch.state in (LetterBatch.State.READY, LetterBatch.State.POSTED),
            "refresh": REFRESH_SECONDS if batch.state == LetterBatch.State.RENDERING else None,
        }
        return TemplateResponse(request, "messaging/letters/admin/batch.html", context)

    def action_view(self, request: HttpRequest, batch_id: str, action: str) -> HttpResponse:
        batch = get_object_or_404(LetterBatch, pk=int(batch_id))
        if not self.has_change_permission(request, batch):
            raise PermissionDenied
        service, label, _states = ACTIONS[action]
        try:
            service(batch_id=batch.pk)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, _("%(action)s: done.") % {"action": label}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:messaging_letterbatch_change", args=[batch.pk]))

    def file_view(self, request: HttpRequest, batch_id: str, kind: str) -> HttpResponse:
        batch = get_object_or_404(LetterBatch, pk=int(batch_id))
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        stored = getattr(batch, kind)
        if batch.state not in (LetterBatch.State.READY, LetterBatch.State.POSTED) or not stored:
            return HttpResponse(_("The batch is not rendered yet."), status=409)
        content_type, extension = FILES[kind]
        with stored.open("rb") as handle:
            response = HttpResponse(handle.read(), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="letters-{batch.pk}.{extension}"'
        response["Cache-Control"] = "no-store"
        return response

    def catalogue_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = HttpResponse(print_catalogue_pdf(), content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="catalogue.pdf"'
        return response
