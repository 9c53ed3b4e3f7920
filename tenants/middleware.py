"""Request routing by host name, the suspended-brand page, the health check, the brand's clock."""

from __future__ import annotations

import functools
import select
import threading
import time
import zoneinfo

import kombu
import redis
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name
from psycopg import conninfo, pq
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.api.errors import error_response
from core.api.middleware import API_PREFIX
from tenants.domains import HTTP_PATH_PREFIX
from tenants.routing import brand_for_host, routing_token
from tenants.selectors import domain_token_for_host

# What each check of /health may wait, so the answer comes within a second even when a server is
# stopped (SIGSTOP: connections are accepted by the kernel, then nothing answers). Measured against
# a real SIGSTOPped PostgreSQL and Redis (tests/tenants/test_health.py): 503 in ~0.8 s.
HEALTH_DATABASE_TIMEOUT = 0.5
HEALTH_BROKER_TIMEOUT = 0.3
# /health is unauthenticated and answers on any host: each process checks at most once a second,
# and probes arriving meanwhile share that check's answer (one database connection a second per
# process, however many probe), so polling cannot fill the database's max_connections.
HEALTH_CACHE_SECONDS = 1.0
# A probe arriving while a check runs waits for it at most this long (the check's deadlines and a
# margin), then answers the last result.
HEALTH_WAIT_SECONDS = HEALTH_DATABASE_TIMEOUT + HEALTH_BROKER_TIMEOUT + 0.1

# libpq's own connection keywords (psycopg's, such as prepare_threshold or context, are not for it).
_LIBPQ_KEYWORDS = frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


@functools.lru_cache(maxsize=4)
def _broker(url: str) -> redis.Redis:
    """A Redis broker's: one client (and connection pool) per broker URL and process: /health is
    polled often. No retry: a second attempt would wait a second timeout."""
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


# Celery's URL schemes for RabbitMQ (kombu's py-amqp transport); any other broker URL is Redis'.
_AMQP_SCHEMES = ("amqp://", "amqps://", "pyamqp://")


def broker_check(*, url: str) -> None:
    """Ask the broker at `url` to answer, within about `HEALTH_BROKER_TIMEOUT` seconds, or raise.
    RabbitMQ: a connection of its own, one attempt, `connect_timeout` bounding each step of the
    AMQP handshake (a frozen node accepts the TCP connection, then never answers; a pooled
    connection would publish into its socket's buffer and seem fine). Redis: a PING on this
    process's client of that URL."""
    if url.startswith(_AMQP_SCHEMES):
        with kombu.Connection(url, connect_timeout=HEALTH_BROKER_TIMEOUT) as probe:
            probe.ensure_connection(max_retries=0)
        return
    _broker(url).ping()


def _check_services() -> tuple[bool, dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        database_check()
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"down: {error.__class__.__name__}"
    try:
        broker_check(url=settings.CELERY_BROKER_URL)
        checks["broker"] = "ok"
    except Exception as error:
        checks["broker"] = f"down: {error.__class__.__name__}"
    return all(value == "ok" for value in checks.values()), checks


_health_lock = threading.Lock()
_NO_CHECK_YET = (float("-inf"), (False, {"database": "unknown", "broker": "unknown"}))
# (time.monotonic() when the check ended, its answer), of this process's last check.
_health_last: tuple[float, tuple[bool, dict[str, str]]] = _NO_CHECK_YET


@receiver(setting_changed)
def _forget_health(*, setting: str, **kwargs) -> None:
    """Settings pointing at other servers (a test's `settings` fixture) get a check of their own."""
    global _health_last
    if setting in {"CELERY_BROKER_URL", "DATABASES"}:
        _health_last = _NO_CHECK_YET


def health_status() -> tuple[bool, dict[str, str]]:
    """Whether the database and the broker answer, and what each said; within a second in all. The
    answer of a check ended less than HEALTH_CACHE_SECONDS ago, else a new check (one at a time per
    process: a probe arriving during a check waits for its answer)."""
    global _health_last
    if time.monotonic() - _health_last[0] < HEALTH_CACHE_SECONDS:
        return _health_last[1]
    if not _health_lock.acquire(timeout=HEALTH_WAIT_SECONDS):
        return _health_last[1]  # a check past its deadlines (libpq resolving a host name)
    try:
        if time.monotonic() - _health_last[0] < HEALTH_CACHE_SECONDS:
            return _health_last[1]  # the check this probe waited for
        answer = _check_services()
        _health_last = (time.monotonic(), answer)
        return answer
    finally:
        _health_lock.release()


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
    """django-tenants' routing, plus a clear page for unknown hosts and suspended brands (under
    /api/v1/, the API's one JSON error shape)."""

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            return error_response(status=404, message=f"no brand at {hostname}", code="unknown_host")
        # Before the language middleware (README.md, Languages): the browser's, among the platform's.
        translation.activate(translation.get_language_from_request(request))
        return render(request, "tenants/unknown_host.html", {"hostname": hostname}, status=404)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        """django-tenants' `process_request`, with the brand read by `brand_for_host` (cached while
        the routing token read here stays the same; the API key lookup uses the same token)."""
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            connection.set_schema_to_public()
            if request.path_info.startswith(API_PREFIX):
                return error_response(status=404, message="no brand at this host", code="unknown_host")
            return HttpResponseNotFound()
        request.routing_token = routing_token()
        brand = brand_for_host(hostname, token=request.routing_token)
        if brand is None:
            connection.set_schema_to_public()
            if request.path_info.startswith(HTTP_PATH_PREFIX):
                return domain_token_response(request, hostname)
            return self.no_tenant_found(request, hostname)
        brand.domain_url = hostname
        request.tenant = brand
        connection.set_tenant(brand)
        self.setup_url_routing(request)
        if brand.schema_name != get_public_schema_name() and brand.is_suspended:
            if request.path_info.startswith(API_PREFIX):
                message = f"{brand.name} is suspended: its API is unavailable until it is reactivated"
                return error_response(status=403, message=message, code="brand_suspended")
            from loyalty.languages import request_language  # a brand app's: the brand's languages

            translation.activate(request_language(request))
            return render(request, "tenants/suspended.html", {"brand": brand}, status=403)
        return None


def domain_token_response(request: HttpRequest, hostname: str) -> HttpResponse:
    """`/.well-known/loyalty-verify/<token>` on a brand's unverified domain: the token, so that the
    domain verifies by HTTP once its DNS points here (`tenants.domains`). Any other token or host: 404."""
    token = domain_token_for_host(hostname=hostname)
    if token and request.path_info == f"{HTTP_PATH_PREFIX}{token}":
        return HttpResponse(token, content_type="text/plain; charset=utf-8")
    return HttpResponseNotFound(content_type="text/plain; charset=utf-8")


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
