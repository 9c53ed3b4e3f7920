"""Backoffice (the brand's Django admin at /backoffice/): the brand's domains, only its own. A domain
is added unverified and serves once its DNS record or HTTP token is found (`tenants.domains`):
checked in the background, or now with the "Check now" action."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_base import ModelAdmin
from core.errors import DomainError

from .domains import http_token_url, txt_record_name, txt_record_value
from .models import Domain
from .services import domain_add, domain_make_primary, domain_remove, domain_verify


class DomainAddForm(forms.Form):
    domain = forms.CharField(
        label=_("Domain"),
        max_length=300,
        help_text=_("a host name of yours, such as club.example.com"),
    )


@admin.register(Domain)
class DomainAdmin(ModelAdmin):
    list_display = ["domain", "is_primary", "state", "method", "verified_at", "checked_at", "check_result"]
    fields = ["domain", "state", "how_to_verify", "method", "verified_at", "checked_at", "check_result"]
    readonly_fields = fields
    actions = ["check_now", "make_primary", "remove"]
    change_form_template = "tenants/admin/domain_change.html"

    def get_urls(self) -> list:
        check = path(
            "<int:domain_id>/check/",
            self.admin_site.admin_view(self.check_view),
            name="tenants_domain_check",
        )
        return [check, *super().get_urls()]

    def check_view(self, request: HttpRequest, domain_id: int) -> HttpResponse:
        """The domain page's "Check now" button (POST): one check, then back to the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_verify_permission(request):
            raise PermissionDenied
        domain = get_object_or_404(self.get_queryset(request), pk=domain_id)  # the brand's own only
        self._checked(request, domain_verify(domain=domain))
        return HttpResponseRedirect(reverse("admin:tenants_domain_change", args=[domain.pk]))

    def _checked(self, request: HttpRequest, domain: Domain) -> None:
        if domain.is_verified:
            self.message_user(request, _("Verified: %s serves the site now.") % domain.domain)
        else:
            self.message_user(
                request,
                _("Not verified yet: %(domain)s (%(found)s)")
                % {"domain": domain.domain, "found": domain.check_result},
                messages.WARNING,
            )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Domain]:
        return super().get_queryset(request).filter(tenant=request.tenant)

    @admin.display(description=_("state"))
    def state(self, domain: Domain) -> str:
        if domain.is_verified:
            return str(_("verified: serves the site"))
        return str(_("waiting for verification: serves nothing yet"))

    @admin.display(description=_("how to verify"))
    def how_to_verify(self, domain: Domain) -> str:
        if domain.is_verified:
            return "-"
        return format_html(
            "{}<br><code>{}</code> TXT <code>{}</code><br>{}<br><code>{}</code>",
            _("Either publish this DNS record:"),
            txt_record_name(domain.domain),
            txt_record_value(domain.token),
            _("or point the domain at the platform, which then answers:"),
            http_token_url(domain.domain, domain.token),
        )

    def has_change_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        return False  # a domain is added, checked or removed, never edited

    def has_verify_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        """Checking a domain or making it primary: the permission to change domains."""
        return request.user.has_perm("tenants.change_domain")

    def has_delete_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_primary)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the services' removal instead (`remove`)
        return actions

    @admin.action(description=_("Check now"), permissions=["verify"])
    def check_now(self, request: HttpRequest, queryset: QuerySet[Domain]) -> None:
        for domain in queryset.filter(verified_at__isnull=True):
            self._checked(request, domain_verify(domain=domain))

    @admin.action(
        description=_("Make primary (the address used in links, e-mails and letters)"), permissions=["verify"]
    )
    def make_primary(self, request: HttpRequest, queryset: QuerySet[Domain]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Choose one domain to make primary."), messages.ERROR)
            return
        try:
            domain = domain_make_primary(domain=queryset.get())
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, _("%s is the primary domain now.") % domain.domain)

    @admin.action(description=_("Remove the selected domains"), permissions=["delete"])
    def remove(self, request: HttpRequest, queryset: QuerySet[Domain]) -> None:
        for domain in queryset:
            self.delete_model(request, domain)

    def delete_model(self, request: HttpRequest, obj: Domain) -> None:
        try:
            domain_remove(domain=obj)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, _("Removed: %s serves nothing now.") % obj.domain)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """A form of its own: the domain's name only; the service makes its token."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DomainAddForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                domain = domain_add(brand=request.tenant, domain=form.cleaned_data["domain"])
            except DomainError as error:
                form.add_error("domain", error.message)
            else:
                self.log_addition(request, domain, [{"added": {}}])
                self.message_user(request, _("Added: %s. Publish its record, then check it.") % domain.domain)
                return HttpResponseRedirect(reverse("admin:tenants_domain_change", args=[domain.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Add a domain"),
            "form": form,
            "adminform": None,
        }
        return TemplateResponse(request, "tenants/admin/domain_add.html", context)
