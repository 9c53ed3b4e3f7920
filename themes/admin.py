"""Backoffice: the brand's theme, one page (no list, no adding, no deleting), validated and saved by
`themes.services` as the API is, with a live preview of the unsaved values beside the form (the
form posted to `preview/` into an iframe, by a button or by `themes/admin-preview.js` as you type)."""

from __future__ import annotations

from typing import Any

from csp.constants import SELF
from csp.decorators import csp_replace
from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from core.admin_base import ModelAdmin
from core.errors import InvalidInput
from themes.models import TEXT_KEYS, TEXT_LANGUAGES, Theme
from themes.selectors import theme_data_of, theme_get
from themes.services import (
    COLOR_FIELDS,
    IMAGE_RULES,
    PROGRAMME_NAME_MAX,
    TAGLINE_MAX,
    TEXT_MAX,
    theme_image_check,
    theme_image_set,
    theme_update,
    theme_validate,
)
from themes.styles import CUSTOM_CSS_MAX_BYTES

TEXT_LABELS = {
    "tagline": _("Tagline"),
    "how_to_earn": _("How to earn (Markdown)"),
    "rules": _("Programme rules (Markdown)"),
    "faq": _("FAQ (Markdown)"),
    "legal": _("Legal notice (Markdown)"),
    "contact": _("Contact (Markdown)"),
}


def text_field_name(language: str, key: str) -> str:
    return f"text_{language}_{key}"


class ThemeForm(forms.ModelForm):
    programme_name = forms.CharField(label=_("Programme name"), max_length=PROGRAMME_NAME_MAX)

    class Meta:
        model = Theme
        fields = [*COLOR_FIELDS, "font", "corner_radius", "custom_css"]
        widgets = {name: forms.TextInput(attrs={"type": "color"}) for name in COLOR_FIELDS} | {
            "custom_css": forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        }
        help_texts = {
            "custom_css": _(
                "At most %(max)s KB. No @import, no url() outside the brand's own media (/media/...), "
                "no expression(), behavior or javascript:."
            )
            % {"max": CUSTOM_CSS_MAX_BYTES // 1024},
            "corner_radius": _("0 to 32 pixels"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "custom_css" not in self.fields:  # read only (the view permission alone): values shown as text
            return
        self.fields["custom_css"].required = False
        theme = self.instance
        self.fields["programme_name"].initial = getattr(theme, "programme_name", "")
        for language in TEXT_LANGUAGES:
            for key in TEXT_KEYS:
                self.fields[text_field_name(language, key)] = forms.CharField(
                    label=f"{TEXT_LABELS[key]} [{language}]",
                    required=False,
                    strip=False,
                    max_length=TAGLINE_MAX if key == "tagline" else TEXT_MAX,
                    widget=forms.TextInput() if key == "tagline" else forms.Textarea(attrs={"rows": 4}),
                    initial=((theme.texts or {}).get(language) or {}).get(key, ""),
                )
        for kind, rule in IMAGE_RULES.items():
            self.fields[kind] = forms.ImageField(
                required=False,
                label=kind.title(),
                help_text=_("JPEG, PNG or WebP, at most %(kb)s KB, each side %(min)s to %(max)s pixels")
                % {"kb": rule.max_bytes // 1024, "min": rule.min_side, "max": rule.max_side},
            )
            self.fields[f"{kind}_remove"] = forms.BooleanField(
                required=False, label=_("Remove the %(kind)s") % {"kind": kind}
            )

    def theme_input(self) -> dict[str, Any]:
        """What the service takes: the fields, the texts by language."""
        data = {
            name: self.cleaned_data[name]
            for name in [*self._meta.fields, "programme_name"]
            if name in self.cleaned_data
        }
        data["custom_css"] = data.get("custom_css") or ""
        data["texts"] = {
            language: {key: self.cleaned_data.get(text_field_name(language, key), "") for key in TEXT_KEYS}
            for language in TEXT_LANGUAGES
        }
        return data

    def _post_clean(self) -> None:
        if self.errors:
            return
        for kind in IMAGE_RULES:
            upload = self.cleaned_data.get(kind)
            if upload:
                try:
                    theme_image_check(kind=kind, image=upload)
                except InvalidInput as error:
                    self.add_error(kind, error.message)
        try:
            self.instance, self.programme_name = theme_validate(data=self.theme_input())
        except InvalidInput as error:
            for name, texts in error.errors.items():
                parts = name.split(".")
                field = text_field_name(parts[1], parts[2]) if len(parts) == 3 else name
                self.add_error(field if field in self.fields else None, texts)


@admin.register(Theme)
class ThemeAdmin(ModelAdmin):
    form = ThemeForm
    change_form_template = "themes/admin/theme_change_form.html"

    def get_fieldsets(self, request: HttpRequest, obj: Theme | None = None) -> list:
        # Read only (the view permission alone), the form's own fields (texts, image removal) are
        # not there: the theme's fields are shown.
        editable = self.has_change_permission(request, obj)
        return [
            *([(_("Names"), {"fields": ["programme_name"]})] if editable else []),
            (_("Colours (each pair readable: WCAG AA, 4.5:1)"), {"fields": list(COLOR_FIELDS)}),
            (_("Type and shapes"), {"fields": ["font", "corner_radius"]}),
            (
                _("Images"),
                {
                    "fields": [
                        name
                        for kind in IMAGE_RULES
                        for name in ((kind, f"{kind}_remove") if editable else (kind,))
                    ]
                },
            ),
            *(
                (
                    _("Texts in %(language)s") % {"language": language},
                    {"fields": [text_field_name(language, key) for key in TEXT_KEYS]},
                )
                for language in (TEXT_LANGUAGES if editable else ())
            ),
            (_("Custom CSS"), {"fields": ["custom_css"]}),
        ]

    def get_form(self, request: HttpRequest, obj: Theme | None = None, change: bool = False, **kwargs: Any):
        # The texts and images are fields the form adds itself, not model fields.
        return super().get_form(request, obj, change, **{**kwargs, "fields": ThemeForm.Meta.fields})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Theme | None:
        return theme_get() if object_id == "1" else None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Theme | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:themes_theme_change", args=[1]))

    def save_model(self, request: HttpRequest, obj: Theme, form: ThemeForm, change: bool) -> None:
        theme_update(data=form.theme_input())
        for kind in IMAGE_RULES:
            if form.cleaned_data.get(kind):
                theme_image_set(kind=kind, image=form.cleaned_data[kind])
            elif form.cleaned_data.get(f"{kind}_remove"):
                theme_image_set(kind=kind, image=None)

    def get_urls(self) -> list:
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("<path:object_id>/preview/", preview, name="themes_theme_preview"), *super().get_urls()]

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return _preview(request, admin_=self)


@require_POST
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})
def _preview(request: HttpRequest, *, admin_: ThemeAdmin) -> HttpResponse:
    """The landing sample dressed by the unsaved values (shown in the theme page's iframe)."""
    if not admin_.has_change_permission(request):
        return HttpResponse(status=403)
    form = ThemeForm(request.POST, instance=theme_get())
    if not form.is_valid():
        return render(request, "themes/admin/preview_errors.html", {"form": form}, status=200)
    theme = theme_data_of(form.instance, programme_name=form.programme_name or "")
    context = {
        "theme": theme,
        "theme_preview": True,
        "theme_texts": theme.texts_in(get_language() or "en"),
        "theme_pages": [],
    }
    return render(request, "themes/admin/preview.html", context)
