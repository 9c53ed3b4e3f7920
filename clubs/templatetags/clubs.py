"""`{% load clubs %}`: `|club_markdown` shows a brand's Markdown as sanitised HTML (the themes' text
pages' own sanitiser), and `{% vip_card member %}` the member's VIP status for their dashboard:
which source and since when, the brand's private line (VIP members only), the club spaces."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from clubs.selectors import spaces_for, vip_phone_line
from loyalty.models import Member
from themes.texts import markdown_html

register = template.Library()


@register.filter
def club_markdown(text: str) -> SafeString:
    return mark_safe(markdown_html(text or ""))  # noqa: S308 - nh3 sanitised it (themes.texts)


@register.inclusion_tag("clubs/site/_vip_card.html")
def vip_card(member: Member) -> dict:
    return {
        "member": member,
        "phone": vip_phone_line(member=member),
        "spaces": [view.space for view in spaces_for(member=member) if view.may_enter],
    }
