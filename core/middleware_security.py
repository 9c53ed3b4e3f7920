"""HSTS scoped to the hosts the platform owns."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port

HSTS_HEADER = "Strict-Transport-Security"


def platform_owns_subdomains(host: str) -> bool:
    """Whether `host` is the platform's domain or under it (a brand's <slug>.<PLATFORM_DOMAIN>)."""
    domain = settings.PLATFORM_DOMAIN.lower()
    return host == domain or host.endswith(f".{domain}")


class HstsScopeMiddleware:
    """Django's SecurityMiddleware (after this one) sends one HSTS header for every host. On a brand's
    own domain (`club.brand.example`) includeSubDomains and preload are dropped: the subdomains there
    are the brand's, which may serve some over plain HTTP, and browsers would refuse them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        header = response.headers.get(HSTS_HEADER)
        if header:
            host, _port = split_domain_port(request.get_host())
            if not platform_owns_subdomains(host):
                response.headers[HSTS_HEADER] = header.split(";")[0]
        return response
