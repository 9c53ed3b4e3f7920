"""Backoffice (the Django admin at /backoffice/): the brand's API keys, an owner's alone
(`core.roles`). A key is shown once, on the page that creates it; only its hash is kept. Keys are
revoked, never deleted, so the list stays a record of who had access. Each key has scopes: the
areas of the API it may read or write (README "API key scopes"); creating, changing and revoking
one is audited."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget

from core import admin_audit, admin_staff  # noqa: F401  (the audit trail and staff lists, registered)
from core.admin_base import ModelAdmin
from core.apikeys import api_key_create, api_key_revoke, api_scopes_check
from core.errors import DomainError
from core.models import ApiKey
from core.models.apikeys import ALL_SCOPES, API_SCOPES

PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block extrastyle %}{{ block.super }}<style nonce="{{ request.csp_nonce }}">
  #api-key { font-size: 1.2em; user-select: all; }
</style>{% endblock %}
{% block content %}<div id="content-main">
{% if key %}
  <p>The API key <strong>{{ api_key.name }}</strong> is created. Copy it now: it is shown only once,
  and only its fingerprint is kept.</p>
  <pre id="api-key">{{ key }}</pre>
  <p>Send it as <code>Authorization: Api-Key &lt;key&gt;</code> to <code>/api/v1/</code> on this
  brand's host; it is limited to {{ api_key.rate_limit_per_minute }} requests a minute, and to its
  scopes: {{ api_key.scopes|join:", " }}.</p>
  <p><a href="{{ list_url }}">Back to the API keys</a></p>
{% else %}
  <form method="post">{% csrf_token %}{{ form.as_p }}<input type="submit" value="Create the key"></form>
{% endif %}
</div>{% endblock %}"""
)


def _scope_label(scope: str) -> str:
    if scope == ALL_SCOPES:
        return str(_("every scope, including areas added later"))
    area, access = scope.split(":")
    return f"{area}: {_('read') if access == 'read' else _('write')}"


def scopes_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("scopes"),
        choices=[(scope, _scope_label(scope)) for scope in API_SCOPES],
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
        initial=[ALL_SCOPES],
        help_text=_("reading (GET) needs an area's read scope, any other request its write scope"),
    )


def _scopes_clean(form: forms.BaseForm) -> list[str]:
    try:
        return api_scopes_check(form.cleaned_data.get("scopes") or [])
    except DomainError as error:
        raise forms.ValidationError(error.message) from None


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="what uses it, such as 'ERP' or 'shop checkout'")
    rate_limit_per_minute = forms.IntegerField(min_value=1, max_value=1_000_000, initial=6000)
    scopes = scopes_field()

    def clean_scopes(self) -> list[str]:
        return _scopes_clean(self)


class ApiKeyChangeForm(forms.ModelForm):
    scopes = scopes_field()

    class Meta:
        model = ApiKey
        fields = ["name", "rate_limit_per_minute", "scopes"]

    def clean_scopes(self) -> list[str]:
        return _scopes_clean(self)


@admin.register(ApiKey)
class ApiKeyAdmin(ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "scope_list",
        "rate_limit_per_minute",
        "created_at",
        "last_used_at",
        "state",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    form = ApiKeyChangeForm
    fields = ["name", "prefix", "scopes", "rate_limit_per_minute", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description=_("scopes"))
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        """A revoked key stays as it was revoked."""
        if obj is not None and obj.revoked_at is not None:
            return [*self.fields]
        return self.readonly_fields

    @admin.display(description="state")
    def state(self, api_key: ApiKey) -> str:
        return "revoked" if api_key.revoked_at else "active"

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        self.message_user(request, "Revoked: requests with these keys are now refused.", messages.SUCCESS)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """A form of its own: the key exists only in the response to the POST that creates it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyCreateForm(request.POST if request.method == "POST" else None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Create an API key",
            "form": form,
        }
        if form.is_valid():
            api_key, key = api_key_create(
                name=form.cleaned_data["name"],
                rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
                scopes=form.cleaned_data["scopes"],
            )
            self.log_addition(request, api_key, [{"added": {}}])
            context.update(
                title="API key created",
                api_key=api_key,
                key=key,
                list_url=reverse("admin:core_apikey_changelist"),
            )
        response = HttpResponse(PAGE.render(context, request))
        add_never_cache_headers(response)
        return response
