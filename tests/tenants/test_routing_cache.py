"""Routing reads (the brand of a host, the API key) are cached per process while the routing token in
Redis stays the same: a change made anywhere, even by another process, applies at the next request;
without Redis, every request reads the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from django_tenants.utils import schema_context

from config.redis import cache_redis
from core.models import ApiKey
from tenants.models import Domain
from tenants.routing import TokenCache
from tests.factories import key_make
from tests.support import ApiClient, error_of

ROOT = Path(__file__).resolve().parents[2]


def _routing_queries(queries: list[dict]) -> list[str]:
    """The brand of a host (`tenants.routing`) and the live key (`api_key_authenticate`)."""
    return [sql for sql in (query["sql"] for query in queries) if "d.domain =" in sql or "key_hash =" in sql]


def test_routing_reads_the_brand_and_the_key_once_while_nothing_changes(api_a):
    assert api_a.get("/api/v1/members/R-1").status_code == 404
    with CaptureQueriesContext(connection) as queries:
        assert api_a.get("/api/v1/members/R-1").status_code == 404
    assert _routing_queries(queries.captured_queries) == []
    key_make(api_a.brand, name="another")  # any key saved: every process reads again
    with CaptureQueriesContext(connection) as queries:
        assert api_a.get("/api/v1/members/R-1").status_code == 404
    assert len(_routing_queries(queries.captured_queries)) == 2


def _in_another_process(code: str) -> None:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
        check=True,
        timeout=120,
    )


def _cached_request(api: ApiClient, path: str) -> int:
    """The request's status, checked to be served from this process's routing cache."""
    api.get(path)
    with CaptureQueriesContext(connection) as queries:
        status = api.get(path).status_code
    assert _routing_queries(queries.captured_queries) == []
    return status


def test_a_revocation_or_a_suspension_made_by_another_process_applies_at_the_next_request(fresh_brand):
    api = ApiClient(brand=fresh_brand, key=key_make(fresh_brand))
    assert _cached_request(api, "/api/v1/members/R-2") == 404
    _in_another_process(
        "from django_tenants.utils import schema_context\n"
        "from core.models import ApiKey\n"
        "from core.apikeys import api_key_revoke\n"
        f"with schema_context('{fresh_brand.schema_name}'):\n"
        "    [api_key_revoke(api_key=key) for key in ApiKey.objects.all()]\n"
    )
    assert error_of(api.get("/api/v1/members/R-2"), 401)["field"] == "Authorization"

    api = ApiClient(brand=fresh_brand, key=key_make(fresh_brand))
    assert _cached_request(api, "/api/v1/members/R-2") == 404
    _in_another_process(
        "from tenants.models import Brand\n"
        "from tenants.services import brand_suspend\n"
        f"brand_suspend(brand=Brand.objects.get(pk={fresh_brand.pk}))\n"
    )
    assert error_of(api.get("/api/v1/members/R-2"), 403)["code"] == "brand_suspended"


@pytest.fixture
def redis_unreachable(settings, monkeypatch):
    """The cache's Redis on a port where nothing listens; after the test, the process asks Redis
    again at once, not `REDIS_RETRY_SECONDS` later."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"},
    }
    cache_redis.cache_clear()
    monkeypatch.setattr("config.redis._down_until", 0.0)  # restored when the test ends
    # Warned again, whatever an earlier test of the process met within the minute.
    monkeypatch.setattr("config.redis._warned_at", {})
    yield
    cache_redis.cache_clear()


def test_without_redis_the_api_answers_and_a_revoked_key_is_still_refused(api_a, redis_unreachable, caplog):
    for _ in range(2):
        assert api_a.get("/api/v1/members/R-3").status_code == 404  # read from the database, not metered
    assert "Redis is unreachable" in caplog.text
    with schema_context(api_a.brand.schema_name):
        ApiKey.objects.update(revoked_at="2026-01-01T00:00Z")  # bypasses the routing token: no Redis anyway
    error_of(api_a.get("/api/v1/members/R-3"), 401)


def test_a_domain_moved_to_another_brand_serves_that_brand_at_the_next_request(
    db, brand_a, brand_b, client_for
):
    moving = Domain.objects.create(
        domain="moving.localhost", tenant=brand_a, is_primary=False, verified_at=now(), method="platform"
    )
    client = Client(HTTP_HOST="moving.localhost")
    assert brand_a.name in client.get("/").content.decode()
    with CaptureQueriesContext(connection) as queries:
        assert brand_a.name in client.get("/").content.decode()
    assert not [query for query in queries.captured_queries if "d.domain =" in query["sql"]]  # cached
    moving.tenant = brand_b
    moving.save()
    page = client.get("/").content.decode()
    assert brand_b.name in page and brand_a.name not in page


def test_token_cache_entries_are_read_again_once_too_old():
    cache, reads = TokenCache(max_age=0.05), []
    assert cache.get_or_read("a", token="t", read=lambda: reads.append(1) or "first") == "first"
    assert cache.get_or_read("a", token="t", read=lambda: reads.append(2) or "second") == "first"
    time.sleep(0.06)
    assert cache.get_or_read("a", token="t", read=lambda: reads.append(3) or "third") == "third"
    assert reads == [1, 3]


def test_token_cache_keeps_found_entries_of_the_current_token_only():
    cache, reads = TokenCache(size=2), []

    def read(value):
        def reader():
            reads.append(value)
            return value

        return reader

    assert cache.get_or_read("a", token="t1", read=read(1)) == 1
    assert cache.get_or_read("a", token="t1", read=read(2)) == 1  # cached
    assert cache.get_or_read("a", token="t2", read=read(3)) == 3  # another token: read again
    assert cache.get_or_read("a", token=None, read=read(4)) == 4  # no token: always read
    assert cache.get_or_read("a", token="t2", read=read(5)) == 3
    assert cache.get_or_read("unknown", token="t2", read=read(None)) is None
    assert cache.get_or_read("unknown", token="t2", read=read(None)) is None  # misses are not kept
    cache.get_or_read("b", token="t2", read=read(6))
    cache.get_or_read("c", token="t2", read=read(7))  # over the size: emptied, then kept
    assert cache.get_or_read("a", token="t2", read=read(8)) == 8
    assert reads == [1, 3, 4, None, None, 6, 7, 8]
