"""Request routing by host name, the suspended-brand page, the health check, the brand's clock."""

from __future__ import annotations

import functools
import select
import time
import zoneinfo

import redis
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name
from psycopg import conninfo, pq
from redis.backoff import NoBackoff
from redis.retry import Retry

from tenants.routing import brand_for_host, routing_token

# What each check of /health may wait, so the answer comes within a second even when a server is
# stopped (SIGSTOP: connections are accepted by the kernel, then nothing answers). Measured against
# a real SIGSTOPped PostgreSQL and Redis (tests/tenants/test_health.py): 503 in ~0.8 s.
HEALTH_DATABASE_TIMEOUT = 0.5
HEALTH_BROKER_TIMEOUT = 0.3

# libpq's own connection keywords (psycopg's, such as prepare_threshold or context, are not for it).
_LIBPQ_KEYWORDS = frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


@functools.lru_cache(maxsize=4)
def _broker(url: str) -> redis.Redis:
    """One client (and connection pool) per broker URL and process: /health is polled often. No
    retry: a second attempt would wait a second timeout."""
    return redis.Redis.from_url(
        url,
        socket_timeout=HEALTH_BROKER_TIMEOUT,
        socket_connect_timeout=HEALTH_BROKER_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )


def _wait_socket(pgconn: pq.PGconn, *, write: bool, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("no answer from the database in time")
    poller = select.poll()  # not select.select(): it refuses descriptors past 1023
    poller.register(pgconn.socket, select.POLLOUT if write else select.POLLIN)
    if not poller.poll(remaining * 1000):
        raise TimeoutError("no answer from the database in time")


def database_check(*, timeout: float = HEALTH_DATABASE_TIMEOUT) -> None:
    """Open a connection of its own to the default database and run `SELECT 1`, all within
    `timeout` seconds, or raise. libpq's non-blocking calls, each wait a poll of the socket for what
    is left of the deadline: psycopg's own connect waits 2 s at least (its connect_timeout floor), and
    a query on a connection of the pool waits as long as a stopped server stays stopped (a
    statement_timeout is the server's, and a stopped server enforces nothing). The server is also
    told the deadline (statement_timeout), for a server that is slow rather than stopped. Host names
    are resolved before the deadline applies (libpq resolves them blocking)."""
    deadline = time.monotonic() + timeout
    params = {
        key: value for key, value in connection.get_connection_params().items() if key in _LIBPQ_KEYWORDS
    }
    params["options"] = f"-c statement_timeout={max(int(timeout * 1000), 1)}"
    params["application_name"] = "loyalty-health"
    pgconn = pq.PGconn.connect_start(conninfo.make_conninfo(**params).encode())
    try:
        while (status := pgconn.connect_poll()) not in (pq.PollingStatus.OK, pq.PollingStatus.FAILED):
            _wait_socket(pgconn, write=status == pq.PollingStatus.WRITING, deadline=deadline)
        if status == pq.PollingStatus.FAILED:
            raise ConnectionError(pgconn.get_error_message().strip())
        pgconn.nonblocking = 1
        pgconn.send_query(b"SELECT 1")
        while pgconn.flush():
            _wait_socket(pgconn, write=True, deadline=deadline)
        while True:
            pgconn.consume_input()
            if not pgconn.is_busy():
                break
            _wait_socket(pgconn, write=False, deadline=deadline)
        result = pgconn.get_result()
        if result is None or result.status != pq.ExecStatus.TUPLES_OK:
            raise ConnectionError(pgconn.get_error_message().strip())
    finally:
        pgconn.finish()


def health_status() -> tuple[bool, dict[str, str]]:
    """Whether the database and the broker answer, and what each said; within a second in all."""
    checks: dict[str, str] = {}
    try:
        database_check()
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"down: {error.__class__.__name__}"
    try:
        _broker(settings.CELERY_BROKER_URL).ping()
        checks["broker"] = "ok"
    except Exception as error:
        checks["broker"] = f"down: {error.__class__.__name__}"
    return all(value == "ok" for value in checks.values()), checks


class HealthCheckMiddleware:
    """`GET /health` on any host, before the host is resolved to a brand (load balancers use IPs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/health":
            healthy, checks = health_status()
            return JsonResponse(
                {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
            )
        return self.get_response(request)


class BrandMiddleware(TenantMainMiddleware):
    """django-tenants' routing, plus a clear page for unknown hosts and suspended brands."""

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        return render(request, "tenants/unknown_host.html", {"hostname": hostname}, status=404)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        """django-tenants' `process_request`, with the brand read by `brand_for_host` (cached while
        the routing token read here stays the same; the API key lookup uses the same token)."""
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            connection.set_schema_to_public()
            return HttpResponseNotFound()
        request.routing_token = routing_token()
        brand = brand_for_host(hostname, token=request.routing_token)
        if brand is None:
            connection.set_schema_to_public()
            return self.no_tenant_found(request, hostname)
        brand.domain_url = hostname
        request.tenant = brand
        connection.set_tenant(brand)
        self.setup_url_routing(request)
        if brand.schema_name != get_public_schema_name() and brand.is_suspended:
            if request.path.startswith("/api/"):
                message = f"{brand.name} is suspended: its API is unavailable until it is reactivated"
                return JsonResponse(
                    {"error": {"field": None, "message": message, "code": "brand_suspended"}}, status=403
                )
            return render(request, "tenants/suspended.html", {"brand": brand}, status=403)
        return None


class BrandTimezoneMiddleware:
    """Times are shown in the brand's timezone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        brand = getattr(request, "tenant", None)
        name = getattr(brand, "timezone", None)
        if name and brand.schema_name != get_public_schema_name():
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        return self.get_response(request)
