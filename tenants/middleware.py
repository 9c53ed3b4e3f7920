"""Request routing by host name, the suspended-brand page, the health check, the brand's clock."""

from __future__ import annotations

import functools
import zoneinfo

import redis
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from tenants.routing import brand_for_host, routing_token


@functools.lru_cache(maxsize=4)
def _broker(url: str) -> redis.Redis:
    """One client (and connection pool) per broker URL and process: /health is polled often."""
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def health_status() -> tuple[bool, dict[str, str]]:
    """Whether the database and the broker answer, and what each said."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"down: {error.__class__.__name__}"
    try:
        _broker(settings.CELERY_BROKER_URL).ping()
        checks["broker"] = "ok"
    except Exception as error:
        checks["broker"] = f"down: {error.__class__.__name__}"
    return all(value == "ok" for value in checks.values()), checks


class HealthCheckMiddleware:
    """`GET /health` on any host, before the host is resolved to a brand (load balancers use IPs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/health":
            healthy, checks = health_status()
            return JsonResponse(
                {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
            )
        return self.get_response(request)


class BrandMiddleware(TenantMainMiddleware):
    """django-tenants' routing, plus a clear page for unknown hosts and suspended brands."""

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        return render(request, "tenants/unknown_host.html", {"hostname": hostname}, status=404)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        """django-tenants' `process_request`, with the brand read by `brand_for_host` (cached while
        the routing token read here stays the same; the API key lookup uses the same token)."""
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            connection.set_schema_to_public()
            return HttpResponseNotFound()
        request.routing_token = routing_token()
        brand = brand_for_host(hostname, token=request.routing_token)
        if brand is None:
            connection.set_schema_to_public()
            return self.no_tenant_found(request, hostname)
        brand.domain_url = hostname
        request.tenant = brand
        connection.set_tenant(brand)
        self.setup_url_routing(request)
        if brand.schema_name != get_public_schema_name() and brand.is_suspended:
            if request.path.startswith("/api/"):
                message = f"{brand.name} is suspended: its API is unavailable until it is reactivated"
                return JsonResponse(
                    {"error": {"field": None, "message": message, "code": "brand_suspended"}}, status=403
                )
            return render(request, "tenants/suspended.html", {"brand": brand}, status=403)
        return None


class BrandTimezoneMiddleware:
    """Times are shown in the brand's timezone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        brand = getattr(request, "tenant", None)
        name = getattr(brand, "timezone", None)
        if name and brand.schema_name != get_public_schema_name():
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        return self.get_response(request)
