"""`{% languages_offered as languages %}`: the languages the request may switch to (the language
switcher, themes/_language_switch.html), each with its code and its own name."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language_info

from loyalty.languages import request_languages

register = template.Library()


@register.simple_tag(takes_context=True)
def languages_offered(context) -> list[dict]:
    request = context.get("request")
    if request is None or getattr(request, "tenant", None) is None:
        return []
    return [get_language_info(code) for code in request_languages(request).offered]
