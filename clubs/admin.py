"""The backoffice of the club spaces: spaces (their entry condition checked by the service), their
pages and offers inline, confidential codes (a new one shown once; revoked, never deleted), the
members a code let in, and the club settings (the VIP private line). A space with reserved gifts
is never deleted."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from catalog.models import Gift
from clubs.models import ClubSettings, Offer, Space, SpaceCode, SpaceGrant, SpacePage
from clubs.services import (
    SPACE_FIELDS,
    space_code_issue,
    space_code_revoke,
    space_gifts_set,
    space_save,
    space_validate,
)
from core.admin_base import ModelAdmin, StackedInline
from core.errors import DomainError, InvalidInput
from loyalty.admin.members import ReadOnlyInline


class SpaceForm(forms.ModelForm):
    gifts = forms.ModelMultipleChoiceField(
        queryset=Gift.objects.filter(archived_at__isnull=True),
        required=False,
        label=gettext_lazy("Gifts for this space's members only"),
        widget=FilteredSelectMultiple(gettext_lazy("gifts"), is_stacked=False),
    )

    class Meta:
        model = Space
        fields = list(SPACE_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["gifts"].initial = list(self.instance.gifts.values_list("pk", flat=True))

    def _post_clean(self) -> None:
        super()._post_clean()
        try:
            space_validate(space=self.instance)
        except InvalidInput as error:
            for field, field_messages in error.errors.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, field_messages)


class SpacePageInline(StackedInline):
    model = SpacePage
    extra = 0
    fields = ["title", "slug", "body", "position", "is_published"]
    prepopulated_fields = {"slug": ["title"]}


class OfferInline(StackedInline):
    model = Offer
    extra = 0
    fields = ["title", "text", "code", "link", "valid_from", "valid_until", "position"]


class SpaceCodeInline(ReadOnlyInline):
    model = SpaceCode
    fields = ["label", "created_at", "revoked_at"]
    readonly_fields = fields


class SpaceGrantInline(ReadOnlyInline):
    model = SpaceGrant
    fields = ["member", "code", "granted_at"]
    readonly_fields = fields


@admin.register(Space)
class SpaceAdmin(ModelAdmin):
    form = SpaceForm
    list_display = ["name", "slug", "entry", "is_active", "position", "codes_link"]
    list_filter = ["entry", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "is_active", "position", "teaser", "how_to_enter"]}),
        (gettext_lazy("Who enters"), {"fields": ["entry", "tier", "segment"]}),
        (gettext_lazy("Perks"), {"fields": ["gifts"]}),
        (
            gettext_lazy("Attribute of the member's latest event"),
            {
                "fields": ["attribute_event_type", "attribute_name", "attribute_operator", "attribute_value"],
                "description": gettext_lazy(
                    "For example the event type monthly_statement, the attribute purchase_share, "
                    "greater than 0.5."
                ),
            },
        ),
    ]
    inlines = [SpacePageInline, OfferInline, SpaceCodeInline, SpaceGrantInline]

    def get_deleted_objects(self, objs, request: HttpRequest):
        """A space whose gifts are reserved to it is not deleted (single or bulk): its gifts would
        be everyone's (their space set to none). Take them out of the space first, or make the
        space inactive: then nobody enters it and its gifts are refused to all."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        reserved = Gift.objects.filter(space__in=[space.pk for space in objs]).select_related("space")
        gifts = [
            gettext("Gift reserved for %(space)s: %(gift)s") % {"space": g.space, "gift": g} for g in reserved
        ]
        return deleted, counts, perms_needed, [*protected, *gifts]

    def save_model(self, request: HttpRequest, obj: Space, form, change: bool) -> None:
        space_save(space=obj)
        space_gifts_set(space=obj, gifts=form.cleaned_data.get("gifts") or [])

    @admin.display(description=gettext_lazy("Gifts for this space's members only"))
    def gifts(self, space: Space) -> str:
        """The gifts as read only (the view permission alone): the form's field otherwise."""
        return ", ".join(str(gift) for gift in space.gifts.order_by("name")) or "-"

    @admin.display(description=gettext_lazy("codes"))
    def codes_link(self, space: Space) -> str:
        if space.entry != Space.Entry.CODE:
            return "-"
        url = reverse("admin:clubs_space_code_new", args=[space.pk])
        return format_html('<a href="{}">{}</a>', url, gettext_lazy("New code"))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:space_id>/codes/new/", wrap(self.code_new_view), name="clubs_space_code_new"),
            *super().get_urls(),
        ]

    def code_new_view(self, request: HttpRequest, space_id: int):
        """Make a confidential code (POST) and show it, this once: it is in this answer only."""
        space = get_object_or_404(Space, pk=space_id)
        if not self.has_change_permission(request, space):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.opts, "space": space}
        context["title"] = f"New code of {space}"
        if request.method == "POST":
            try:
                context["issued"] = space_code_issue(space=space, label=request.POST.get("label", ""))
            except DomainError as error:
                context["refusal"] = error.message
        return TemplateResponse(request, "clubs/admin/code_new.html", context)


@admin.register(SpaceCode)
class SpaceCodeAdmin(ModelAdmin):
    list_display = ["space", "label", "created_at", "revoked_at"]
    list_filter = ["space"]
    fields = ["space", "label", "created_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made on the space's "New code" page, shown once

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # revoked, so the grants it made keep their record

    @admin.action(description=gettext_lazy("Revoke the selected codes"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset):
        for code in queryset:
            space_code_revoke(space_code=code)
        self.message_user(request, gettext_lazy("Codes revoked."), messages.SUCCESS)


@admin.register(ClubSettings)
class ClubSettingsAdmin(ModelAdmin):
    fields = ["vip_phone", "vip_phone_hours"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ClubSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
