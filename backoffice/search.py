"""The global member search (`backoffice:search`, the header's search box): members by the start of
their name, e-mail, phone, external id or company (`loyalty.selectors.search.member_search`), among
those the staff user may see (their portfolio only without `loyalty.view_every_member`)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from loyalty.selectors.search import member_search

SEARCH_RESULTS = 25
QUERY_MAX_LENGTH = 100


def search_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("loyalty.view_member"):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:QUERY_MAX_LENGTH]
    members = member_search(user=request.user, query=query, limit=SEARCH_RESULTS) if query else []
    context = {
        **admin.site.each_context(request),
        "title": _("Search members"),
        "search_query": query,
        "members": members,
        "results_max": SEARCH_RESULTS,
    }
    return TemplateResponse(request, "backoffice/search.html", context)
