"""`{% import_links "members" "events" as imports %}`: the import pages (backoffice.imports.IMPORTS)
among those named that the request's user may use, as (URL, title), for the lists' buttons."""

from __future__ import annotations

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def import_links(context: template.Context, *names: str, gift: int | None = None) -> list[tuple[str, str]]:
    from backoffice.imports import IMPORTS  # the backoffice's views import the apps' imports
    from core.jobs import job_kind_get

    request = context.get("request")
    if request is None:
        return []
    links = []
    for name in names:
        page = IMPORTS[name]
        if request.user.has_perm(job_kind_get(page.kind).permission):
            url = reverse("backoffice:import", args=[name]) + (f"?gift={gift}" if gift else "")
            links.append((url, str(page.title)))
    return links
