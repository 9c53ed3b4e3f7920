"""Brands' own domains: added unverified, verified by a DNS TXT record (a local DNS server) or by
the HTTP token (the platform's own answer, served locally), served only once verified; names
refused; Caddy's TLS question."""

from __future__ import annotations

import http.server
import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from tenants.domains import TokenFetcher, TxtResolver, txt_record_name, txt_record_value
from tenants.models import Domain
from tenants.selectors import brand_primary_url
from tenants.services import domain_add, domain_remove, domain_verify
from tests.conftest import host_of, wsgi_served
from tests.factories import key_make
from tests.support import ApiClient, dns_served, error_of


@pytest.fixture
def dns_records(settings):
    """The records a local DNS server answers, the only name server the checks ask."""
    records: dict[tuple[str, str], list[str]] = {}
    with dns_served(records) as port:
        settings.DOMAIN_VERIFY_NAMESERVERS = [f"127.0.0.1:{port}"]
        yield records


def _status(host: str, path: str = "/") -> int:
    return Client(HTTP_HOST=host).get(path).status_code


def _serves_brand(host: str) -> bool:
    """Whether the host reaches a brand's API (401 without a key) rather than no brand (404)."""
    status = _status(host, "/api/v1/domains")
    assert status in (401, 404), status
    return status == 401


def _verified_by_hand(domain: Domain) -> None:
    """As a verification writes it (save(): the routing token changes)."""
    domain.verified_at, domain.method = domain.created_at, Domain.Method.DNS
    domain.save()


def test_a_domain_added_through_the_api_waits_unverified_with_its_record(api_a):
    created = api_a.post("/api/v1/domains", {"domain": "Club.Alpha-Shop.Example."})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["domain"] == "club.alpha-shop.example"
    assert body["verified"] is False and body["method"] == ""
    assert body["dns_record"] == {
        "name": "_loyalty-verify.club.alpha-shop.example",
        "type": "TXT",
        "value": f"loyalty-verify={body['token']}",
    }
    assert body["http_url"] == f"http://club.alpha-shop.example/.well-known/loyalty-verify/{body['token']}"
    listed = api_a.get("/api/v1/domains").json()
    assert [d["domain"] for d in listed] == [host_of(api_a.brand), "club.alpha-shop.example"]
    assert listed[0]["verified"] is True and listed[0]["method"] == "platform"


def test_verified_by_dns_txt_it_serves_the_brand_at_once(api_a, dns_records):
    domain = domain_add(brand=api_a.brand, domain="loyalty.alpha-dns.example")
    assert not _serves_brand("loyalty.alpha-dns.example")  # unverified: an unknown host
    checked = api_a.post("/api/v1/domains/loyalty.alpha-dns.example/verification").json()
    assert checked["verified"] is False
    assert "no TXT record _loyalty-verify.loyalty.alpha-dns.example" in checked["check_result"]

    dns_records[(txt_record_name(domain.domain), "TXT")] = ["unrelated", txt_record_value(domain.token)]
    checked = api_a.post("/api/v1/domains/LOYALTY.alpha-dns.example./verification").json()
    assert checked["verified"] is True and checked["method"] == "dns" and checked["check_result"] == ""
    assert _serves_brand("loyalty.alpha-dns.example")
    again = domain_verify(domain=Domain.objects.get(pk=domain.pk))
    assert again.verified_at == Domain.objects.get(pk=domain.pk).verified_at  # idempotent


def test_a_wrong_txt_value_does_not_verify(api_a, dns_records):
    domain = domain_add(brand=api_a.brand, domain="wrong.alpha-dns.example")
    dns_records[(txt_record_name(domain.domain), "TXT")] = ["loyalty-verify=someone-elses-token"]
    assert not domain_verify(domain=domain).is_verified
    assert not _serves_brand("wrong.alpha-dns.example")


def test_verified_by_the_http_token_the_platform_serves_itself(
    live_db, celery_worker, brand_a, dns_records, settings
):
    """Added, the domain is checked by the task queued after the commit (nothing found yet). Then it
    points at the platform (A record 127.0.0.1, the local server): the platform answers its token
    path for it, and the check over HTTP finds it."""
    settings.DOMAIN_VERIFY_PRIVATE_ADDRESSES = True
    with wsgi_served() as port:
        settings.DOMAIN_VERIFY_HTTP_PORT = port
        domain = domain_add(brand=brand_a, domain="shop.alpha-http.example")
        try:
            for _ in range(100):
                checked = Domain.objects.get(pk=domain.pk)
                if checked.checked_at is not None:
                    break
                time.sleep(0.1)
            assert not checked.is_verified and "has no address in the DNS" in checked.check_result
            assert not _serves_brand("shop.alpha-http.example")

            dns_records[("shop.alpha-http.example", "A")] = ["127.0.0.1"]
            fetched = TokenFetcher().fetch(domain.domain, f"/.well-known/loyalty-verify/{domain.token}")
            assert (fetched.status, fetched.body) == (200, domain.token.encode())
            assert TokenFetcher().fetch(domain.domain, "/.well-known/loyalty-verify/other").status == 404
            verified = domain_verify(domain=domain)
            assert verified.is_verified and verified.method == "http"
            assert _status("shop.alpha-http.example", f"/.well-known/loyalty-verify/{domain.token}") == 404
            assert _serves_brand("shop.alpha-http.example")
        finally:
            Domain.objects.filter(pk=domain.pk).delete()


class _Redirecting(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "http://elsewhere.example/token")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_redirect_is_not_followed_and_private_addresses_are_refused(api_a, dns_records, settings):
    domain = domain_add(brand=api_a.brand, domain="redirect.alpha-http.example")
    dns_records[(domain.domain, "A")] = ["127.0.0.1"]
    checked = domain_verify(domain=domain)
    assert "127.0.0.1, which is not a public address" in checked.check_result
    server = http.server.HTTPServer(("127.0.0.1", 0), _Redirecting)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        settings.DOMAIN_VERIFY_PRIVATE_ADDRESSES = True
        settings.DOMAIN_VERIFY_HTTP_PORT = server.server_address[1]
        checked = domain_verify(domain=domain)
        assert not checked.is_verified and "answered 302" in checked.check_result
    finally:
        server.shutdown()
        server.server_close()


def test_the_resolver_reads_txt_records_from_the_name_server(dns_records):
    dns_records[("_loyalty-verify.a.example", "TXT")] = ["one", "two"]
    assert sorted(TxtResolver().txt_records("_loyalty-verify.a.example")) == ["one", "two"]
    assert TxtResolver().txt_records("_loyalty-verify.nothing.example") == []


@pytest.mark.parametrize("variant", ["taken.example", "TAKEN.Example", "taken.example.", " taken.example "])
def test_a_domain_of_another_brand_is_refused_in_any_spelling(api_a, api_b, variant):
    domain_add(brand=api_b.brand, domain="taken.example")  # unverified still counts
    error = error_of(api_a.post("/api/v1/domains", {"domain": variant}), 409)
    assert (error["field"], error["code"]) == ("domain", "domain_taken")
    assert not Domain.objects.filter(tenant=api_a.brand, domain="taken.example").exists()


def test_idna_spellings_are_one_domain(api_a, api_b):
    added = api_b.post("/api/v1/domains", {"domain": "Bücher.example"}).json()
    assert added["domain"] == "xn--bcher-kva.example"
    error = error_of(api_a.post("/api/v1/domains", {"domain": "xn--bcher-kva.example"}), 409)
    assert error["field"] == "domain"
    assert error_of(api_a.post("/api/v1/domains", {"domain": "BÜCHER.example"}), 409)["field"] == "domain"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not a domain",
        "192.0.2.1",
        "[2001:db8::1]",
        "localhost",
        "shop.localhost",
        "nodot",
        "a..example",
        "-bad.example",
        "x" * 70 + ".example",
        "evil.example/path",
    ],
)
def test_bad_domains_are_refused_naming_the_field(api_a, bad):
    before = Domain.objects.count()
    error = error_of(api_a.post("/api/v1/domains", {"domain": bad}), 400)
    assert error["field"] == "domain"
    assert Domain.objects.count() == before


def test_the_platform_domain_and_its_subdomains_are_the_platform_s(api_a, settings):
    settings.PLATFORM_DOMAIN = "loyalty.example"
    for name in ("loyalty.example", "beta.loyalty.example", "Other.Loyalty.Example."):
        assert error_of(api_a.post("/api/v1/domains", {"domain": name}), 400)["field"] == "domain"
    assert error_of(api_a.post("/api/v1/domains", {}), 400)["field"] == "domain"
    assert error_of(api_a.post("/api/v1/domains", {"domain": 5}), 400)["field"] == "domain"


def test_removing_a_domain_stops_it_at_once_but_the_primary_stays(api_a):
    domain = domain_add(brand=api_a.brand, domain="gone.alpha.example")
    _verified_by_hand(domain)
    assert _serves_brand("gone.alpha.example")
    assert api_a.delete("/api/v1/domains/gone.alpha.example").status_code == 204
    assert not _serves_brand("gone.alpha.example")
    error = error_of(api_a.delete(f"/api/v1/domains/{host_of(api_a.brand)}"), 422)
    assert (error["field"], error["code"]) == ("domain", "primary_domain")
    assert error_of(api_a.delete("/api/v1/domains/nothing.example"), 404)["field"] == "domain"
    with pytest.raises(Exception, match="cannot be removed"):
        domain_remove(domain=Domain.objects.get(domain=host_of(api_a.brand)))


def test_a_verified_domain_becomes_primary_and_the_platform_address_stays(fresh_brand, staff_for):
    api = ApiClient(brand=fresh_brand, key=key_make(fresh_brand))
    platform_host = host_of(fresh_brand)
    own = domain_add(brand=fresh_brand, domain="club.primary-alpha.example")
    error = error_of(api.post("/api/v1/domains/club.primary-alpha.example/primary"), 422)
    assert (error["field"], error["code"]) == ("domain", "domain_unverified")
    _verified_by_hand(own)
    answer = api.post("/api/v1/domains/CLUB.primary-alpha.example/primary")
    assert answer.status_code == 200 and answer.json()["is_primary"] is True
    primaries = Domain.objects.filter(tenant=fresh_brand, is_primary=True)
    assert list(primaries.values_list("domain", flat=True)) == ["club.primary-alpha.example"]
    fresh_brand.refresh_from_db()
    assert brand_primary_url(brand=fresh_brand) == "http://club.primary-alpha.example/"
    # Both still serve the brand; neither the primary nor the platform address can be removed.
    assert _serves_brand("club.primary-alpha.example") and _serves_brand(platform_host)
    assert "primary" in error_of(api.delete("/api/v1/domains/club.primary-alpha.example"), 422)["message"]
    assert "platform" in error_of(api.delete(f"/api/v1/domains/{platform_host}"), 422)["message"]
    # Back to the platform address, from the backoffice's action; then the own domain can go.
    staff = staff_for(fresh_brand)
    platform_row = Domain.objects.get(domain=platform_host)
    staff.post(
        "/backoffice/tenants/domain/", {"action": "make_primary", "_selected_action": [platform_row.pk]}
    )
    assert Domain.objects.get(pk=platform_row.pk).is_primary
    assert api.delete("/api/v1/domains/club.primary-alpha.example").status_code == 204
    # The database holds one primary per brand, and only a verified one (bulk_create: without
    # django-tenants' save(), which unsets the other primaries itself).
    second = Domain(domain="two.primary-alpha.example", tenant=fresh_brand, is_primary=True, method="dns")
    second.verified_at = platform_row.verified_at
    with pytest.raises(IntegrityError), transaction.atomic():
        Domain.objects.bulk_create([second])
    with pytest.raises(IntegrityError), transaction.atomic():
        Domain.objects.filter(pk=platform_row.pk).update(is_primary=False)
        Domain.objects.bulk_create(
            [Domain(domain="three.primary-alpha.example", tenant=fresh_brand, is_primary=True, token="t")]
        )


def test_the_tls_question_is_answered_for_served_hosts_only(api_a, settings):
    platform = Client(HTTP_HOST="localhost")
    settings.PLATFORM_DOMAIN = "localhost"
    domain = domain_add(brand=api_a.brand, domain="tls.alpha.example")

    def ask(name: str) -> int:
        return platform.get("/tls/ask", {"domain": name}).status_code

    assert ask("localhost") == 200
    assert ask(host_of(api_a.brand)) == 200
    assert ask("tls.alpha.example") == 404  # not verified yet
    assert ask("unknown.example") == 404
    assert ask("") == 404
    assert ask("x" * 300) == 404
    _verified_by_hand(domain)
    assert ask("tls.alpha.example") == 200
    assert ask("TLS.alpha.example.") == 200
    assert Client(HTTP_HOST=host_of(api_a.brand)).get("/tls/ask", {"domain": "localhost"}).status_code == 404


def test_the_tls_question_costs_one_query_at_most(api_a, django_assert_max_num_queries):
    platform = Client(HTTP_HOST="localhost")
    host = host_of(api_a.brand)
    platform.get("/tls/ask", {"domain": host})
    with django_assert_max_num_queries(1):
        assert platform.get("/tls/ask", {"domain": "unknown.example"}).status_code == 404


def test_the_backoffice_lists_adds_and_checks_the_brand_s_domains(staff_a, brand_a, brand_b, dns_records):
    other = domain_add(brand=brand_b, domain="b-only.example")
    page = staff_a.get("/backoffice/tenants/domain/")
    assert page.status_code == 200
    assert host_of(brand_a).encode() in page.content and b"b-only.example" not in page.content
    refused = staff_a.post("/backoffice/tenants/domain/add/", {"domain": "B-Only.example"})
    assert refused.status_code == 200 and b"already in use" in refused.content
    refused = staff_a.post("/backoffice/tenants/domain/add/", {"domain": "127.0.0.1"})
    assert b"IP address" in refused.content
    added = staff_a.post("/backoffice/tenants/domain/add/", {"domain": "office.alpha.example"})
    assert added.status_code == 302
    domain = Domain.objects.get(domain="office.alpha.example", tenant=brand_a)
    detail = staff_a.get(added["Location"])
    assert txt_record_value(domain.token).encode() in detail.content
    dns_records[(txt_record_name(domain.domain), "TXT")] = [txt_record_value(domain.token)]
    staff_a.post(
        "/backoffice/tenants/domain/",
        {"action": "check_now", "_selected_action": [domain.pk, other.pk]},
    )
    assert Domain.objects.get(pk=domain.pk).method == "dns"
    assert not Domain.objects.get(pk=other.pk).is_verified  # B's, not in A's list: untouched
    assert staff_a.get(f"/backoffice/tenants/domain/{other.pk}/change/").status_code == 302
    assert staff_a.post(f"/backoffice/tenants/domain/{other.pk}/check/").status_code == 404

    second = domain_add(brand=brand_a, domain="button.alpha.example")
    page = staff_a.get(f"/backoffice/tenants/domain/{second.pk}/change/")
    assert f'action="/backoffice/tenants/domain/{second.pk}/check/"'.encode() in page.content
    assert staff_a.get(f"/backoffice/tenants/domain/{second.pk}/check/").status_code == 405
    checked = staff_a.post(f"/backoffice/tenants/domain/{second.pk}/check/", follow=True)
    assert b"Not verified yet: button.alpha.example (no TXT record _loyalty-verify.button" in checked.content
    dns_records[(txt_record_name(second.domain), "TXT")] = [txt_record_value(second.token)]
    checked = staff_a.post(f"/backoffice/tenants/domain/{second.pk}/check/", follow=True)
    assert b"Verified: button.alpha.example serves the site now." in checked.content
    assert f"/domain/{second.pk}/check/".encode() not in checked.content  # no button once verified
    connection.set_tenant(brand_a)


def test_the_token_and_the_tls_question_answer_over_plain_http_in_production(api_a, settings):
    """Neither has a certificate to go to yet: no redirect to HTTPS."""
    settings.SECURE_SSL_REDIRECT = True
    domain = domain_add(brand=api_a.brand, domain="plain.alpha.example")
    answered = Client(HTTP_HOST="plain.alpha.example").get(f"/.well-known/loyalty-verify/{domain.token}")
    assert (answered.status_code, answered.content) == (200, domain.token.encode())
    asked = Client(HTTP_HOST="localhost").get("/tls/ask", {"domain": host_of(api_a.brand)})
    assert asked.status_code == 200
    assert Client(HTTP_HOST=host_of(api_a.brand)).get("/gifts/").status_code == 301  # the rest redirects
