"""Tenant isolation of activation codes: a code of brand A typed on brand B's site is "wrong" (and
counts nothing in A), and B's API key issues no code for A's members."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from loyalty.models import ActivationAttempt, ActivationCode
from loyalty.services.activation import activation_code_issue
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import error_of


def _reseller_in(brand, external_id: str = "R-ISO"):
    with schema_context(brand.schema_name):
        return member_make(external_id, kind="reseller", company_name="Tabac", postal_code="75011")


def test_a_code_of_brand_a_is_wrong_on_brand_b(db, brand_a, brand_b):
    member = _reseller_in(brand_a)
    _reseller_in(brand_b)  # same external id and postcode in B: still not A's code
    with schema_context(brand_a.schema_name):
        code = activation_code_issue(member=member).code
    site_b = Client(HTTP_HOST=host_of(brand_b), REMOTE_ADDR="198.51.100.77")
    response = site_b.post("/activate/", {"code": code, "postal_code": "75011"})
    assert response.status_code == 200 and b"This code or postcode is wrong" in response.content
    with schema_context(brand_b.schema_name):
        assert ActivationAttempt.objects.get().outcome == "unknown"
    with schema_context(brand_a.schema_name):
        assert not ActivationAttempt.objects.exists()
        assert ActivationCode.objects.get().used_at is None
    site_a = Client(HTTP_HOST=host_of(brand_a), REMOTE_ADDR="198.51.100.77")
    assert site_a.post("/activate/", {"code": code, "postal_code": "75011"}).status_code == 302


def test_brand_b_key_issues_no_code_for_brand_a_members(db, brand_a, api_b):
    _reseller_in(brand_a, "R-ONLY-A")
    error = error_of(api_b.post("/api/v1/members/R-ONLY-A/activation-codes"), 404)
    assert error["field"] == "external_id"
    connection.set_tenant(brand_a)
    assert not ActivationCode.objects.exists()
