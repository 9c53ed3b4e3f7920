"""`{% job_exports "members" "ledger" as exports %}`: the exports (backoffice.jobs.EXPORTS) among
those named that the request's user may start, as (URL name, label), for the lists' buttons."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def job_exports(context: template.Context, *names: str) -> list[tuple[str, str]]:
    from backoffice.jobs import exports_allowed  # the backoffice's views import the apps' exports

    request = context.get("request")
    if request is None:
        return []
    return [(name, label) for name, label in exports_allowed(user=request.user) if name in names]
