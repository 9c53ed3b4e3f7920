"""The notice of the backoffice's index page: the limits of its platform plan the brand went over
this month (`tenants.plans`)."""

from __future__ import annotations

from django import template
from django_tenants.utils import get_public_schema_name

from tenants.plans import plan_overages_of_month

register = template.Library()


@register.inclusion_tag("tenants/plan_notice.html", takes_context=True)
def plan_notice(context: template.Context) -> dict:
    brand = getattr(context.get("request"), "tenant", None)
    if brand is None or brand.schema_name == get_public_schema_name():
        return {"overages": []}
    return {"overages": list(plan_overages_of_month(brand=brand))}
