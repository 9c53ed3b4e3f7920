from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django_tenants.utils import get_public_schema_name

from billing.selectors import vip_plans_on_sale


def vip(request: HttpRequest) -> dict:
    """`vip_offered`: whether the brand whose site is shown sells a VIP plan (the site's menu links
    to /vip/ then), read when a template first asks."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return {"vip_offered": False}

    def offered() -> bool:
        return vip_plans_on_sale().exists()

    return {"vip_offered": SimpleLazyObject(offered)}
