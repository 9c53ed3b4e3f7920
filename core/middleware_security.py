"""HSTS scoped to the hosts the platform owns; the Content-Security-Policy on pages only."""

from __future__ import annotations

from csp.constants import UNSAFE_EVAL
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.http.response import HttpResponseBase

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


BACKOFFICE_PREFIX = "/backoffice/"

# Answers no browser renders as a page (X-Content-Type-Options: nosniff is on every answer).
_NOT_PAGES = ("application/json", "application/vnd.oai.openapi")


def renders_no_page(response: HttpResponseBase) -> bool:
    """Whether the answer is data, not a page: JSON (`application/json`, `...+json`) or the schema."""
    media_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return media_type.startswith(_NOT_PAGES) or media_type.endswith("+json")


class PagePolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, for pages only: data answers (the brand API's JSON, its errors and
    schema, a backoffice count) carry no policy, which they need not and which the API's single
    events, hundreds a second, would each pay for. The API's docs are pages and keep theirs."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if renders_no_page(response):
            return response
        return super().process_response(request, response)

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request=request, response=response, report_only=report_only)
        if request.path_info.startswith(BACKOFFICE_PREFIX) and parts.config is None and parts.replace is None:
            # The backoffice's look (django-unfold) runs on Alpine.js, whose standard build evaluates
            # its x-* attributes with `new Function`: 'unsafe-eval' there only, never on the member
            # site. Inline scripts and styles still need the nonce; style attributes stay refused.
            # A view that sets its own policy (`@csp`, `@csp_replace`: an e-mail's sandboxed HTML, a
            # preview frame) keeps it as written: no Alpine.js runs there.
            update = dict(parts.update or {})
            update["script-src"] = [*update.get("script-src", ()), UNSAFE_EVAL]
            parts.update = update
        return parts
