"""The backoffice's moderation queue (`community-bo:moderation`, README "Community > Moderation"):
every held text of every model members write, and the published reviews members reported, oldest
first, with what the automatic moderation found, the time left before the stated delay (overdue
ones flagged); staff publish or reject with a reason and a note (`moderation_decide`). Each row
needs `community.change_<its model>`; the page needs one of them."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from community.models import RejectionReason
from community.selectors.moderation import MODERATED, moderation_queue, queue_models, queue_object
from community.services.moderation import NOTE_MAX_LENGTH, moderation_decide
from core.errors import DomainError


class DecisionForm(forms.Form):
    model = forms.ChoiceField(choices=[(name, name) for name in MODERATED])
    pk = forms.IntegerField(min_value=1)
    decision = forms.ChoiceField(choices=[("publish", "publish"), ("reject", "reject")])
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason"), choices=[("", "—"), *RejectionReason.choices], required=False
    )
    note = forms.CharField(
        label=gettext_lazy("Note to the author"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea,
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("decision") == "reject" and not data.get("reason"):
            self.add_error("reason", _("Choose the reason the author is told."))
        return data


def moderation_view(request: HttpRequest) -> HttpResponse:
    if not queue_models(user=request.user):
        raise PermissionDenied
    if request.method == "POST":
        return _decide(request)
    items = moderation_queue(user=request.user)
    context = {
        **admin.site.each_context(request),
        "title": _("Moderation queue"),
        "items": items,
        "reasons": RejectionReason.choices,
        "note_max_length": NOTE_MAX_LENGTH,
    }
    return TemplateResponse(request, "community/backoffice/moderation/queue.html", context)


def _decide(request: HttpRequest) -> HttpResponse:
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request,
                f"{form.fields[field].label or field}: {' '.join(errors)}"
                if field != "__all__"
                else " ".join(errors),
            )
        return redirect("community-bo:moderation")
    data = form.cleaned_data
    obj = queue_object(user=request.user, model_name=data["model"], pk=data["pk"])
    if obj is None:
        if data["model"] in queue_models(user=request.user):
            raise Http404("no such text")
        raise PermissionDenied
    publish = data["decision"] == "publish"
    try:
        moderation_decide(
            obj=obj, publish=publish, user=request.user, reason=data["reason"], note=data["note"]
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("community-bo:moderation")
    messages.success(request, _("Published.") if publish else _("Rejected: the author is told the reason."))
    return redirect("community-bo:moderation")


urlpatterns = [path("moderation/", admin.site.admin_view(moderation_view), name="moderation")]
