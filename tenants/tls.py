"""Caddy's on-demand TLS question, "may I get a certificate for this host?", on the platform's own
domain (platform/Caddyfile): 200 for the platform domain and every verified brand domain, 404 for
anything else, so that nobody makes the platform ask a CA for certificates of names it does not serve."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.http import require_GET

from .selectors import host_may_have_certificate


@require_GET
def tls_ask(request: HttpRequest) -> HttpResponse:
    """`GET /tls/ask?domain=<host>`: at most one indexed query, none while the routing cache has it."""
    if host_may_have_certificate(hostname=request.GET.get("domain", "")):
        return HttpResponse("ok", content_type="text/plain")
    return HttpResponseNotFound("no such host", content_type="text/plain")
