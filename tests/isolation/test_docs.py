"""Tenant isolation of the API's documentation pages: each brand's host documents its own API
address and no other brand's; a replay of another brand's idempotency key is no replay."""

from __future__ import annotations

from tests.conftest import host_of

PAGES = ["/api/v1/docs/getting-started", "/api/v1/docs/", "/api/v1/docs/redoc/", "/api/v1/schema/"]


def test_each_brand_host_documents_its_own_api_only(db, brand_a, brand_b, client_for):
    for brand, other in [(brand_a, brand_b), (brand_b, brand_a)]:
        client = client_for(brand)
        for path in PAGES:
            page = client.get(path)
            assert page.status_code == 200, path
            assert host_of(other) not in page.content.decode(), path
        assert f"<code>http://{host_of(brand)}/api/v1</code>" in client.get(PAGES[0]).content.decode()


def test_an_idempotency_key_of_brand_a_is_no_replay_on_brand_b(api_a, api_b):
    body = {"points": 5, "reason": "welcome"}
    api_a.put("/api/v1/members/ISO-R", {})
    api_b.put("/api/v1/members/ISO-R", {})
    first = api_a.post("/api/v1/members/ISO-R/adjustments", body, headers={"Idempotency-Key": "iso-r"})
    on_b = api_b.post("/api/v1/members/ISO-R/adjustments", body, headers={"Idempotency-Key": "iso-r"})
    assert first.status_code == on_b.status_code == 201
    assert "Idempotent-Replayed" not in on_b
