from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name


def brand(request: HttpRequest) -> dict:
    """The brand whose site is being shown (None on the platform's own domain)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return {"brand": None}
    return {"brand": tenant}
