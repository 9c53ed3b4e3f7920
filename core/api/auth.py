"""Authentication, permission and rate limit of the brand REST API (`Authorization: Api-Key <key>`)."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import TYPE_CHECKING

import redis
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from config.redis import cache_redis, redis_available, redis_failed
from core.apikeys import api_key_authenticate, api_key_has_scope, api_scope_needed
from core.lockout import api_key_failure_record, api_key_locked_until, client_ip
from core.models import ApiKey
from tenants.selectors import schema_current

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from core.api.errors import ApiError


def _guessing_refused(locked_until: datetime) -> ApiError:
    # Imported here: DRF imports this module while importing rest_framework.views, which errors needs.
    from core.api.errors import ApiError

    wait = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
    error = ApiError(
        field="Authorization",
        message=f"too many unknown API keys from this address; retry in {wait} s",
        status_code=429,
        code="throttled",
    )
    error.wait = wait  # the error handler's Retry-After
    return error


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`. An address that presented more unknown (or malformed, or
    revoked) keys than `core.lockout.API_KEY_POLICY` allows in a minute, on this brand, is answered
    429 for a minute before any key is read from the database (`core.lockout`, in PostgreSQL: it
    holds without Redis), so a blocked guesser learns nothing.

    A key this process already serves (cached, `tenants/routing.py`) is served without asking: the
    brand's servers often share one address, and a forgotten job retrying a revoked key must not cut
    off the live integration beside it; valid requests thus pay no lockout query."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        keyword, _, key = header.partition(" ")
        key = key.strip() if keyword == self.keyword else ""
        token = getattr(request, "routing_token", None)
        api_key = api_key_authenticate(key=key, routing_token=token, cached_only=True)
        if api_key is not None:
            return (None, api_key)
        ip = client_ip(request)
        locked_until = api_key_locked_until(schema_name=schema_current(), ip=ip)
        if locked_until is not None:
            raise _guessing_refused(locked_until)
        api_key = api_key_authenticate(key=key, routing_token=token) if key else None
        if api_key is not None:
            return (None, api_key)
        lockout = api_key_failure_record(schema_name=schema_current(), ip=ip)
        if lockout is not None:
            raise _guessing_refused(lockout.locked_until)
        if not key:
            raise exceptions.AuthenticationFailed("Authorization: expected 'Api-Key <key>'")
        raise exceptions.AuthenticationFailed("Authorization: unknown or revoked API key for this brand")

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HasApiKey(permissions.BasePermission):
    """A key of this brand, holding the scope the operation needs (`api_scope_needed`): otherwise
    403 `scope_missing`, naming the scope."""

    message = "Authorization: an 'Api-Key <key>' header of this brand is required"

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not isinstance(request.auth, ApiKey):
            return False
        scope = api_scope_needed(view=view, method=request.method or "GET")
        if not api_key_has_scope(api_key=request.auth, scope=scope):
            # Imported here, as in `_guessing_refused`.
            from core.api.errors import ApiError

            raise ApiError(
                field="Authorization",
                message=f"this API key does not have the scope {scope}",
                status_code=403,
                code="scope_missing",
            )
        return True


class ApiKeyRateThrottle(throttling.BaseThrottle):
    """Per-key requests per minute (the key's own limit), counted in Redis under a key that carries
    the brand's schema (the cache's key function). One round trip: INCR and EXPIRE pipelined.
    Without Redis the request goes through, logged: the brand's systems keep working while it is
    down, unmetered for that time."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        if not redis_available():
            return True
        now = time.time()
        counter = cache.make_key(f"api-rate:{api_key.prefix}:{int(now // 60)}")
        pipeline = cache_redis().pipeline(transaction=False)
        pipeline.incr(counter)
        pipeline.expire(counter, 120)
        try:
            self.count, _ = pipeline.execute()
        except redis.RedisError as error:
            redis_failed(what="the API rate limit lets requests through", error=error)
            return True
        self.limit = api_key.rate_limit_per_minute
        self.window_left = 60 - int(now) % 60
        return self.count <= self.limit

    def wait(self) -> float:
        return float(getattr(self, "window_left", 60))


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, created with `manage.py create_api_key` or in the backoffice",
        }
