"""Fixtures and helpers of the API tests (imported by the test_api_* files; holds no tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from loyalty.services.apikeys import api_key_create
from tests.conftest import host_of


@dataclass
class ApiClient:
    """A test client on one brand's host that sends `Authorization: Api-Key <key>` and JSON."""

    brand: object
    key: str
    raise_errors: bool = True  # False: a server error is a 500 response, as a real client sees it

    def _client(self) -> Client:
        return Client(HTTP_HOST=host_of(self.brand), raise_request_exception=self.raise_errors)

    def _headers(self, headers: dict | None) -> dict:
        sent = {"HTTP_AUTHORIZATION": f"Api-Key {self.key}"} if self.key else {}
        for name, value in (headers or {}).items():
            sent["HTTP_" + name.upper().replace("-", "_")] = value
        return sent

    def get(self, path: str, *, headers: dict | None = None):
        return self._client().get(path, **self._headers(headers))

    def send(self, method: str, path: str, body=None, *, headers: dict | None = None, raw: str | None = None):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return getattr(self._client(), method)(
            path, data=data, content_type="application/json", **self._headers(headers)
        )

    def post(self, path: str, body=None, **kwargs):
        return self.send("post", path, body, **kwargs)

    def put(self, path: str, body=None, **kwargs):
        return self.send("put", path, body, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.send("delete", path, None, **kwargs)


def key_make(brand, *, name: str = "ERP", rate_limit_per_minute: int | None = None) -> str:
    with schema_context(brand.schema_name):
        _, key = api_key_create(name=name, rate_limit_per_minute=rate_limit_per_minute)
    return key


@pytest.fixture
def api_a(db, brand_a) -> ApiClient:
    """Brand A's systems, with a key of their own (the test's transaction rolls it back)."""
    return ApiClient(brand=brand_a, key=key_make(brand_a))


@pytest.fixture
def api_b(db, brand_b) -> ApiClient:
    return ApiClient(brand=brand_b, key=key_make(brand_b))


@pytest.fixture
def in_a(db, brand_a):
    """ORM calls of the test run in brand A's schema."""
    connection.set_tenant(brand_a)
    return brand_a


def error_of(response, status: int) -> dict:
    """The response's error, after checking its status and the shape every API error shares."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"field", "message", "code"}
    if error["field"]:
        assert error["message"].startswith(f"{error['field']}:"), error
    return error
