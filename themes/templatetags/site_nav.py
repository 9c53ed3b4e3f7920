"""`{% load site_nav %}`: `{% nav_current url %}` marks a nav link of the site's layout
(themes/base.html): `aria-current="page"` on the page itself, the class `nav-section` on the link
of the section the page is in (its path below the link's: a gift's page under "Gifts")."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_current(context: template.Context, url: str) -> SafeString:
    request = context.get("request")
    path = request.path if request is not None else ""
    if path == url:
        return mark_safe(' aria-current="page"')
    # The home page ("/") is a section of its own, not the parent of every page.
    if url != "/" and url.endswith("/") and path.startswith(url):
        return mark_safe(' class="nav-section"')
    return mark_safe("")
