"""Tenant isolation of the brands' domains: another brand's key lists, checks and removes none of
A's domains (each a 404 or a 401), and A's HTTP token is answered on A's unverified domain only."""

from __future__ import annotations

from django.test import Client

from tenants.models import Domain
from tenants.services import domain_add
from tests.conftest import host_of
from tests.support import ApiClient, error_of


def test_b_s_key_sees_checks_and_removes_none_of_a_s_domains(api_a, api_b):
    domain = domain_add(brand=api_a.brand, domain="club.alpha-iso.example")
    listed = api_b.get("/api/v1/domains").json()
    assert [d["domain"] for d in listed] == [host_of(api_b.brand)]
    for name in ("club.alpha-iso.example", host_of(api_a.brand)):
        response = api_b.post(f"/api/v1/domains/{name}/verification")
        assert error_of(response, 404)["field"] == "domain"
        assert error_of(api_b.delete(f"/api/v1/domains/{name}"), 404)["field"] == "domain"
    a_key_on_b = ApiClient(brand=api_b.brand, key=api_a.key)
    for method, path in [
        ("get", "/api/v1/domains"),
        ("post", "/api/v1/domains"),
        ("post", "/api/v1/domains/club.alpha-iso.example/verification"),
        ("delete", "/api/v1/domains/club.alpha-iso.example"),
    ]:
        response = (
            a_key_on_b.get(path)
            if method == "get"
            else a_key_on_b.send(method, path, {"domain": "x.example"})
        )
        assert error_of(response, 401)["field"] == "Authorization", (method, path)
    assert Domain.objects.filter(pk=domain.pk, tenant=api_a.brand, checked_at__isnull=True).exists()
    assert not Domain.objects.filter(domain="x.example").exists()


def test_a_s_token_is_answered_on_a_s_unverified_domain_only(api_a, api_b):
    domain = domain_add(brand=api_a.brand, domain="token.alpha-iso.example")
    other = domain_add(brand=api_b.brand, domain="token.beta-iso.example")
    path = f"/.well-known/loyalty-verify/{domain.token}"
    answered = Client(HTTP_HOST="token.alpha-iso.example").get(path)
    assert (answered.status_code, answered.content) == (200, domain.token.encode())
    for host in ("token.beta-iso.example", host_of(api_b.brand), host_of(api_a.brand), "nobody.example"):
        response = Client(HTTP_HOST=host).get(path)
        assert response.status_code == 404, host
        assert domain.token.encode() not in response.content
    b_path = f"/.well-known/loyalty-verify/{other.token}"
    assert Client(HTTP_HOST="token.alpha-iso.example").get(b_path).status_code == 404
