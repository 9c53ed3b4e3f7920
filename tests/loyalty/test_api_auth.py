"""REST API: API keys (header, revocation, rate limit), the error shape, the OpenAPI schema, and the
`create_api_key` command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context
from drf_spectacular.validation import validate_schema

from core.apikeys import api_key_revoke
from core.models import ApiKey
from loyalty.models import Member
from tenants.models import AuthFailure
from tests.factories import key_make
from tests.support import ApiClient, error_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "authorization",
    [
        "Api-Key lk_0000_not-a-real-key",
        "Api-Key ",
        "Bearer something",
        "Api-Key",
        "api-key lk_nope",
    ],
)
def test_bad_authorization_headers_are_401_and_write_nothing(api_a, in_a, authorization):
    response = api_a._client().put(
        "/api/v1/members/K-1",
        data='{"first_name": "Eve"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=authorization,
    )
    error = error_of(response, 401)
    assert error["field"] == "Authorization"
    assert response["WWW-Authenticate"] == "Api-Key"
    connection.set_tenant(in_a)
    assert not Member.objects.filter(external_id="K-1").exists()


def test_missing_authorization_header_is_401(api_a, in_a):
    anonymous = ApiClient(brand=api_a.brand, key="")
    error = error_of(anonymous.put("/api/v1/members/K-2", {"first_name": "Eve"}), 401)
    assert error["field"] == "Authorization"
    assert error["code"] == "not_authenticated"
    connection.set_tenant(in_a)
    assert not Member.objects.filter(external_id="K-2").exists()


def test_a_revoked_key_stops_working(api_a, in_a):
    assert api_a.put("/api/v1/members/K-3", {}).status_code == 201
    connection.set_tenant(in_a)
    for api_key in ApiKey.objects.all():
        api_key_revoke(api_key=api_key)
    error = error_of(api_a.get("/api/v1/members/K-3"), 401)
    assert error["code"] == "authentication_failed"


def test_over_the_rate_limit_is_429_with_retry_after(db, brand_a):
    if time.time() % 60 > 55:  # the counter is per minute: stay inside one window
        time.sleep(60 - time.time() % 60 + 0.1)
    limited = ApiClient(brand=brand_a, key=key_make(brand_a, name="limited", rate_limit_per_minute=3))
    statuses = [limited.get("/api/v1/members/nobody").status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    response = limited.get("/api/v1/members/nobody")
    error = error_of(response, 429)
    assert error["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another key of the same brand has its own budget.
    other = ApiClient(brand=brand_a, key=key_make(brand_a, name="other"))
    assert other.get("/api/v1/members/nobody").status_code == 404


def test_guessing_keys_from_one_address_is_429_before_any_key_is_read(db, brand_a):
    served = ApiClient(brand=brand_a, key=key_make(brand_a, name="served"))
    unused = ApiClient(brand=brand_a, key=key_make(brand_a, name="unused"))
    assert served.get("/api/v1/members/nobody").status_code == 404  # now cached by this process
    with time_machine.travel(timezone.now(), tick=True) as clock:
        # 20 unknown, revoked or malformed keys in a minute from one address are answered 401...
        guesses = [f"lk_{n:04d}_guess" for n in range(19)] + ["Bearer x"]
        for guess in guesses:
            authorization = guess if guess.startswith("Bearer") else f"Api-Key {guess}"
            response = (
                ApiClient(brand=brand_a, key="")
                ._client()
                .get("/api/v1/members/nobody", HTTP_AUTHORIZATION=authorization)
            )
            error_of(response, 401)
        # ...the 21st is one too many: 429 in the error shape, for a minute.
        response = ApiClient(brand=brand_a, key="lk_0020_guess").get("/api/v1/members/nobody")
        error = error_of(response, 429)
        assert (error["field"], error["code"]) == ("Authorization", "throttled")
        assert "too many unknown API keys" in error["message"]
        assert 59 <= int(response["Retry-After"]) <= 60

        # Then any key this process does not already serve is refused before it is read, a valid
        # one too (a blocked guesser learns nothing), and not counted again...
        for client in (ApiClient(brand=brand_a, key="lk_0021_guess"), unused):
            with CaptureQueriesContext(connection) as queries:
                error_of(client.get("/api/v1/members/nobody"), 429)
            assert not [query for query in queries if "loyalty_apikey" in query["sql"]]
        assert AuthFailure.objects.filter(schema_name=brand_a.schema_name, kind="api_key").count() == 21
        # ...while the key this process serves goes on working, without a lockout query.
        with CaptureQueriesContext(connection) as queries:
            assert served.get("/api/v1/members/nobody").status_code == 404
        assert not [query for query in queries if "tenants_lockout" in query["sql"]]
        # Another address is not concerned.
        other_address = unused._client().get(
            "/api/v1/members/nobody", REMOTE_ADDR="192.0.2.44", **unused._headers(None)
        )
        assert other_address.status_code == 404

        clock.shift(61)
        assert unused.get("/api/v1/members/nobody").status_code == 404
        error_of(ApiClient(brand=brand_a, key="lk_0022_guess").get("/api/v1/members/nobody"), 401)


def test_unknown_method_and_path(api_a):
    error = error_of(api_a.delete("/api/v1/members/K-4"), 405)
    assert error["code"] == "method_not_allowed"


def test_schema_is_valid_openapi_and_documents_every_path(api_a):
    response = api_a._client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/v1/members/{external_id}",
        "/api/v1/members/{external_id}/ledger",
        "/api/v1/members/{external_id}/adjustments",
        "/api/v1/events",
        "/api/v1/events/batch",
        "/api/v1/simulate",
        "/api/v1/rules",
        "/api/v1/rules/{rule_id}",
        "/api/v1/tiers",
        "/api/v1/tiers/{code}",
    } <= paths
    event = schema["paths"]["/api/v1/events"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in event["parameters"])
    assert {"201", "400", "401", "404", "429"} <= set(event["responses"])
    assert set(schema["paths"]["/api/v1/rules/{rule_id}"]) >= {"get", "put", "delete"}
    assert "ApiKey" in schema["components"]["securitySchemes"]
    docs = api_a._client().get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    # Each choice set has its own name (two models' `kind` once became "Kind74aEnum" and the like).
    assert {"MemberKindEnum", "LedgerEntryKindEnum", "GiftKindEnum", "OrderStatusEnum"} <= set(
        schema["components"]["schemas"]
    )


def test_schema_generation_has_no_warnings(db, tmp_path):
    call_command(
        "spectacular",
        "--urlconf",
        "config.urls_api",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
    )


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash(db, brand_a):
    out = io.StringIO()
    call_command("create_api_key", "--brand", brand_a.slug, "--name", "POS", stdout=out)
    lines = out.getvalue().strip().splitlines()
    key = lines[-1]
    assert key.startswith("lk_")
    assert out.getvalue().count(key) == 1
    with schema_context(brand_a.schema_name):
        stored = ApiKey.objects.get(name="POS")
        assert key not in {stored.key_hash, stored.prefix, stored.name}
    assert ApiClient(brand=brand_a, key=key).get("/api/v1/members/nobody").status_code == 404


def test_create_api_key_refuses_a_bad_rate_limit(db, brand_a):
    with pytest.raises(CommandError, match="rate-limit"):
        call_command("create_api_key", "--brand", brand_a.slug, "--name", "POS", "--rate-limit", "0")


def test_create_api_key_refuses_a_blank_name(db, brand_a):
    with pytest.raises(CommandError, match="create_api_key: name: an API key needs a name"):
        call_command("create_api_key", "--brand", brand_a.slug, "--name", "  ")


def test_create_api_key_for_an_unknown_brand_exits_non_zero_with_one_line(db):
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "--brand", "no-such-brand", "--name", "ERP"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no-such-brand" in lines[0]


def test_unknown_api_path_is_a_json_404(db, brand_a, client_for):
    response = client_for(brand_a).get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
