"""Production settings: `check --deploy` is clean, plain HTTP is redirected (but not /health), HSTS is
scoped to the platform's hosts, and every page carries a Content-Security-Policy under which its
inline code runs only by the request's nonce (the browser side: tests/e2e/test_csp_in_browser.py);
the brand API's JSON answers carry none."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLResolver
from django.utils.timezone import now

from catalog.models import GiftPhoto
from core.api.errors import api_not_found
from tests.catalog.factories import gift_make, png
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import key_make, member_make
from tests.support import ApiClient

ROOT = Path(__file__).resolve().parents[2]


# Set by the test run, never in production (the browser tests set the last one for Playwright).
NOT_IN_PRODUCTION = {"DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def production_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NOT_IN_PRODUCTION}
    env.update(DJANGO_ENV="production", SECRET_KEY=secrets.token_urlsafe(50), TRUSTED_PROXY_COUNT="1")
    env.update(extra)
    return env


@pytest.mark.parametrize("value", [None, "", "one", "-1"])
def test_production_needs_the_number_of_trusted_proxies(value):
    env = production_env()
    if value is None:
        del env["TRUSTED_PROXY_COUNT"]
    else:
        env["TRUSTED_PROXY_COUNT"] = value
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT must be the number of proxies" in result.stderr


def test_without_a_proxy_x_forwarded_proto_is_not_trusted():
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TRUSTED_PROXY_COUNT, settings.SECURE_PROXY_SSL_HEADER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**production_env(TRUSTED_PROXY_COUNT="0"), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["0", "None"], result.stderr[-1500:]


def test_check_deploy_in_production_reports_nothing():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output, output


# Requests made by a production process (DJANGO_ENV=production) on the test database: for each
# (host, path, through an HTTPS proxy?), the status, Location and security headers. With a second
# argument, Django's SecurityMiddleware is moved first (where Django's documentation puts it).
PRODUCTION_REQUESTS = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from django.conf import settings
from django.test import Client
if len(sys.argv) > 2:
    security = "django.middleware.security.SecurityMiddleware"
    settings.MIDDLEWARE = [security, *(name for name in settings.MIDDLEWARE if name != security)]
answers = []
for host, path, https in json.loads(sys.argv[1]):
    extra = {"HTTP_X_FORWARDED_PROTO": "https"} if https else {}
    response = Client(HTTP_HOST=host).get(path, **extra)
    answers.append({
        "status": response.status_code,
        "location": response.get("Location"),
        "hsts": response.get("Strict-Transport-Security"),
        "csp": response.get("Content-Security-Policy"),
    })
print(json.dumps(answers))
"""


def production_get(requests: list[tuple[str, str, bool]], *, security_first: bool = False) -> list[dict]:
    settings_dict = connection.settings_dict
    login = quote(settings_dict["USER"]) + (
        f":{quote(settings_dict['PASSWORD'])}" if settings_dict["PASSWORD"] else ""
    )
    database_url = (
        f"postgres://{login}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PRODUCTION_REQUESTS,
            json.dumps(requests),
            *(["first"] if security_first else []),
        ],
        cwd=ROOT,
        env=production_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_production_redirects_plain_http_to_https_except_health(live_db, brand_a):
    host = host_of(brand_a)
    plain, proxied, health = production_get([(host, "/", False), (host, "/", True), (host, "/health", False)])
    assert (plain["status"], plain["location"]) == (301, f"https://{host}/")
    assert proxied["status"] == 200
    assert health["status"] == 200  # load balancers probe over plain HTTP


def test_health_stays_exempt_from_the_redirect_with_the_security_middleware_first(live_db, brand_a):
    """/health answers before the SecurityMiddleware today; SECURE_REDIRECT_EXEMPT keeps it so if the
    middleware moves first."""
    host = host_of(brand_a)
    plain, health = production_get([(host, "/", False), (host, "/health", False)], security_first=True)
    assert plain["status"] == 301
    assert health["status"] == 200


@pytest.fixture
def custom_domain(live_db, brand_a):
    from tenants.models import Domain

    domain = Domain.objects.create(
        domain="club.alpha-brand.example",
        tenant=brand_a,
        is_primary=False,
        verified_at=now(),
        method="platform",
    )
    yield domain.domain
    domain.delete()


def test_hsts_for_a_year_with_subdomains_on_the_platforms_hosts_only(brand_a, custom_domain):
    brand, platform, own_domain = production_get(
        [(host_of(brand_a), "/", True), ("localhost", "/login/", True), (custom_domain, "/", True)]
    )
    assert brand["hsts"] == "max-age=31536000; includeSubDomains"
    assert platform["hsts"] == "max-age=31536000; includeSubDomains"
    # The brand's own domain: its subdomains are the brand's, maybe on plain HTTP.
    assert (own_domain["status"], own_domain["hsts"]) == (200, "max-age=31536000")
    assert brand["csp"] and own_domain["csp"]


class InlineCodeScan(HTMLParser):
    """What a page holds that a CSP with nonces refuses: inline scripts and styles without the nonce,
    style attributes, event-handler attributes, and files from other origins."""

    def __init__(self, nonce: str | None) -> None:
        super().__init__()
        self.nonce = nonce
        self.problems: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, _value in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        executable = attributes.get("type") in {None, "", "text/javascript", "module"}
        if tag == "script" and executable and "src" not in attributes:
            self.inline_scripts += 1
            if not self.nonce or attributes.get("nonce") != self.nonce:
                self.problems.append("<script> without the nonce")
        if tag == "style" and (not self.nonce or attributes.get("nonce") != self.nonce):
            self.problems.append("<style> without the nonce")
        for name in ("src", "href"):
            value = attributes.get(name) or ""
            if tag in {"script", "link", "img"} and re.match(r"(https?:)?//", value):
                self.problems.append(f"<{tag} {name}={value}> from another origin")


def scan(response, *, backoffice: bool = False) -> InlineCodeScan:
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    # A nonce only on pages that use one (django-csp makes it when a template asks for it).
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"])
    nonce = nonce and nonce.group(1)
    # The backoffice's Alpine.js (django-unfold) evaluates its attributes: 'unsafe-eval' there only.
    if backoffice:
        assert directives["script-src"].endswith(" 'unsafe-eval'"), directives["script-src"]
        policy = policy.replace(" 'unsafe-eval'", "")
        directives["script-src"] = directives["script-src"].removesuffix(" 'unsafe-eval'")
    assert directives["script-src"] == directives["style-src"]
    assert directives["default-src"] == "'self'"
    for directive, value in {
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }.items():
        assert directives[directive] == value
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    scanner = InlineCodeScan(nonce)
    scanner.feed(response.content.decode())
    return scanner


def logged_in(client, username: str):
    response = client.post("/accounts/login/", {"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def test_every_page_carries_the_policy_and_its_inline_code_only_under_the_nonce(db, brand_a, client_for):
    from loyalty.services.rules import rule_create

    connection.set_tenant(brand_a)
    member = member_make("csp-1", points=300, login=True)
    gift = gift_make(name="Cinema ticket", points_price=200, codes=["CSP-0001"])
    photo = GiftPhoto.objects.create(gift=gift, image=png(40, 30), alt_text="a ticket")
    rule = rule_create(data={"name": "Trip", "event_type": "trip", "points": 10})
    anonymous = client_for(brand_a)
    shopper = logged_in(client_for(brand_a), member.user.get_username())
    staff = logged_in(client_for(brand_a), f"admin@{brand_a.slug}.example")
    pages = {
        "member site: home": (anonymous, "/"),
        "member site: login": (anonymous, "/accounts/login/"),
        "member site: gifts": (shopper, "/gifts/"),
        "member site: a gift": (shopper, f"/gifts/{gift.pk}/"),
        "backoffice: index": (staff, "/backoffice/"),
        "backoffice: rule page, simulator": (staff, f"/backoffice/loyalty/earningrule/{rule.pk}/change/"),
        "backoffice: new segment (live count)": (staff, "/backoffice/loyalty/segment/add/"),
        "backoffice: a member (ledger)": (staff, f"/backoffice/loyalty/member/{member.pk}/change/"),
        "backoffice: a gift (thumbnail)": (staff, f"/backoffice/catalog/gift/{gift.pk}/change/"),
        "backoffice: new API key": (staff, "/backoffice/core/apikey/add/"),
        "backoffice: gifts list": (staff, "/backoffice/catalog/gift/"),
        "backoffice: member search": (staff, "/backoffice/search/?q=csp"),
        "API docs": (anonymous, "/api/v1/docs/"),
        "unknown host": (Client(HTTP_HOST="nobody.localhost"), "/"),
        "operator console: login": (client_for(None), "/login/"),
    }
    problems = {}
    inline_scripts = 0
    try:
        for name, (client, path) in pages.items():
            response = client.get(path)
            assert response.status_code in {200, 404}, (name, response.status_code)
            scanner = scan(response, backoffice=path.startswith("/backoffice/"))
            inline_scripts += scanner.inline_scripts
            if scanner.problems:
                problems[name] = scanner.problems
    finally:
        photo.image.delete(save=False)
    assert problems == {}
    assert inline_scripts >= 2  # the simulator's and the segment's, under the nonce


def test_api_docs_load_swagger_ui_from_our_own_static_files(db, brand_a, client_for):
    client = client_for(brand_a)
    page = client.get("/api/v1/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(not re.match(r"(https?:)?//", asset) for asset in assets), assets
    sidecar = "/static/drf_spectacular_sidecar/swagger-ui-dist/"
    files = [asset for asset in assets if asset.startswith(sidecar)]
    assert {Path(asset).name for asset in files} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    }
    for asset in files:
        assert client.get(asset).status_code == 200, asset
    # The page's own script is a file of its own (SpectacularSwaggerSplitView), not inline.
    script = next(asset for asset in assets if "script" in asset and asset.startswith("/api/v1/docs/"))
    response = client.get(script.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in response.content


def api_routes(patterns, prefix: str = "/api/v1/") -> list[str]:
    """The fixed start of each route of the brand API (up to its first parameter), the catch-all of
    unknown paths left out."""
    routes = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern).split("<", 1)[0]
        if isinstance(pattern, URLResolver):
            routes += api_routes(pattern.url_patterns, route)
        elif pattern.callback is not api_not_found:
            routes.append(route)
    return routes


def test_every_api_route_answers_data_without_a_policy_and_its_docs_pages_with_one(db, brand_a):
    """The policy is for pages (core.middleware_security.PagePolicyMiddleware): every route of the
    API, a new one included, answers JSON or its schema without one; the docs pages keep theirs."""
    from config import urls_api

    api = ApiClient(brand=brand_a, key=key_make(brand_a))
    routes = api_routes(urls_api.urlpatterns)
    assert len(routes) > 20
    answers = {route: api.get(route) for route in routes}
    policies = {route: answer.get("Content-Security-Policy") for route, answer in answers.items()}
    docs = {route for route in routes if route.startswith("/api/v1/docs/")}
    assert docs >= {"/api/v1/docs/", "/api/v1/docs/redoc/", "/api/v1/docs/getting-started"}
    # Files a browser may open (a PDF) keep the pages' policy; JSON and the schema carry none.
    files = {
        route
        for route, answer in answers.items()
        if answer.get("Content-Type", "").startswith("application/pdf")
    }
    assert {route for route, policy in policies.items() if policy} - files == docs
    assert all("default-src 'self'" in policies[route] for route in docs)


def test_api_json_answers_carry_no_policy_and_the_api_docs_keep_theirs(db, brand_a, client_for):
    api = ApiClient(brand=brand_a, key=key_make(brand_a))
    answers = {
        "rules": api.get("/api/v1/rules"),
        "gifts": api.get("/api/v1/gifts"),
        "unknown member": api.get("/api/v1/members/nobody"),
        "event refused": api.post("/api/v1/events", {"member": "nobody"}),
        "schema": api.get("/api/v1/schema/"),
    }
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "rules": 200,
        "gifts": 200,
        "unknown member": 404,
        "event refused": 400,
        "schema": 200,
    }
    assert {name: answer.get("Content-Security-Policy") for name, answer in answers.items()} == dict.fromkeys(
        answers
    )
    docs = client_for(brand_a).get("/api/v1/docs/")
    assert docs.status_code == 200
    assert scan(docs).problems == []  # the full policy, as on every page
