"""Backoffice: message templates (list filtered by channel and language, edited with the variables'
catalogue as help), checked and saved by `messaging.services.templates` as the API is, with a live
preview of the unsaved text for a member chosen by external id or e-mail (the form posted to
`preview/` into an iframe, by a button or by `messaging/admin-template-preview.js` as you type, as
the theme page does). An SMS's preview shows its encoding and segments."""

from __future__ import annotations

import unicodedata
from typing import Any

from csp.constants import NONE, SELF
from csp.decorators import csp_replace
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from core.admin_base import ModelAdmin
from core.errors import Conflict, DomainError, InvalidInput
from loyalty.models import Member
from loyalty.selectors.programme import programme_settings
from messaging.models import MessageTemplate
from messaging.rendering import VARIABLES
from messaging.services.templates import (
    TEMPLATE_FIELDS,
    template_delete,
    template_preview,
    template_save,
    template_validate,
)

PREVIEW_MEMBER = "preview_member"


def variables_help() -> str:
    """The catalogue of variables, as the body's help."""
    rows = format_html_join(
        "", "<li><code>{{{{ {} }}}}</code>: {}</li>", ((v.name, v.description) for v in VARIABLES)
    )
    intro = _(
        "Jinja2 text, rendered in a sandbox: {{ first_name }}, {% if tier %}…{% endif %}. An unknown "
        "variable is refused when you save. The variables:"
    )
    return format_html('{}<ul class="template-variables">{}</ul>', intro, rows)


class MessageTemplateForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("Language"))

    class Meta:
        model = MessageTemplate
        fields = list(TEMPLATE_FIELDS)
        widgets = {
            "body": forms.Textarea(attrs={"rows": 12, "spellcheck": "true", "class": "vLargeTextField"}),
            "subject": forms.TextInput(attrs={"class": "vLargeTextField"}),
        }
        labels = {
            "code": _("Code"),
            "name": _("Name"),
            "channel": _("Channel"),
            "purpose": _("Purpose"),
            "subject": _("Subject"),
            "body": _("Text"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "body" not in self.fields:  # read only (the view permission alone): values shown as text
            return
        languages = programme_settings().site_languages
        self.fields["language"].choices = [(code, code) for code in languages]
        self.fields["body"].help_text = variables_help()
        self.fields["subject"].help_text = _("E-mails (required) and letters only; variables allowed.")
        self.fields["code"].help_text = _(
            "What triggers and campaigns name it by (welcome, points_earned...): one template per code, "
            "channel and language."
        )

    def template_input(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in TEMPLATE_FIELDS}

    def _post_clean(self) -> None:
        if self.errors:
            return
        try:
            template_validate(**self.template_input(), template=self.instance)
        except DomainError as error:
            for name, texts in error.errors.items():
                self.add_error(name if name in self.fields else None, texts)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ModelAdmin):
    form = MessageTemplateForm
    change_form_template = "messaging/admin/template_change_form.html"
    list_display = ["code", "name", "channel", "language", "purpose", "updated_at"]
    list_filter = ["channel", "language", "purpose"]
    search_fields = ["code", "name"]
    fieldsets = [
        (None, {"fields": ["code", "name", "channel", "language", "purpose"]}),
        (_("Message"), {"fields": ["subject", "body"]}),
    ]

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: MessageTemplateForm, change: bool):
        saved = template_save(**form.template_input(), template=obj if change else None)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: MessageTemplate) -> None:
        try:
            template_delete(template=obj)
        except Conflict as error:
            request.template_kept = error.message  # type: ignore[attr-defined]

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        kept = getattr(request, "template_kept", None)
        if kept is None:
            return super().response_delete(request, obj_display, obj_id)
        self.message_user(request, kept, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:messaging_messagetemplate_change", args=[obj_id]))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MessageTemplate]) -> None:
        for template in queryset:
            try:
                template_delete(template=template)
            except Conflict as error:
                self.message_user(request, f"{template}: {error.message}", messages.ERROR)

    def get_urls(self) -> list:
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("preview/", preview, name="messaging_messagetemplate_preview"), *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        return _preview(request, admin_=self)


def preview_member_find(text: str) -> Member | None:
    """The member staff named for a preview: by external id, else by e-mail."""
    text = text.strip()
    if not text:
        return None
    members = Member.objects.select_related("tier")
    by_id = members.filter(external_id=text).first()
    return by_id or members.filter(email__iexact=text).order_by("id").first()


# An e-mail's preview holds its HTML part, styles inline as mail clients get it (built by
# `messaging.email_html`, which escapes what staff wrote); no script runs in the frame.
@require_POST
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF], "style-src": [SELF, "'unsafe-inline'"], "script-src": [NONE]})
def _preview(request: HttpRequest, *, admin_: MessageTemplateAdmin) -> HttpResponse:
    """The unsaved template rendered for the chosen member (shown in the template page's iframe)."""
    if not (admin_.has_change_permission(request) or admin_.has_add_permission(request)):
        return HttpResponse(status=403)
    wanted = request.POST.get(PREVIEW_MEMBER, "")
    member = preview_member_find(wanted)
    context: dict[str, Any] = {"wanted": wanted.strip(), "member": member}
    try:
        preview = context["preview"] = template_preview(template_data=request.POST, member=member)
        context["unicode_characters"] = [
            (character, f"U+{ord(character):04X}", unicodedata.name(character, ""))
            for character in (preview.sms.unicode_characters if preview.sms else ())
        ]
    except InvalidInput as error:
        context["errors"] = error.errors
    return render(request, "messaging/admin/template_preview.html", context)
