"""API keys of a brand's systems (their services): created once (shown once), stored as a SHA-256,
checked per request (`core.api.auth`), revoked."""

from __future__ import annotations

import copy
import hashlib
import secrets

from django.db import connection, transaction
from django.utils import timezone

from core.audit import audit_record, audit_snapshot
from core.errors import InvalidInput
from core.models import ApiKey, AuditEntry
from core.models.apikeys import ALL_SCOPES, API_SCOPES
from tenants.routing import API_KEYS, routing_changed
from tenants.selectors import schema_current

KEY_PREFIX_LENGTH = 8
_LIVE_KEY_FIELDS = [
    "id",
    "name",
    "prefix",
    "key_hash",
    "rate_limit_per_minute",
    "last_used_at",
    "revoked_at",
    "scopes",
]
_LIVE_KEY_SQL = f"""
    SELECT {", ".join(_LIVE_KEY_FIELDS)}
    FROM loyalty_apikey WHERE key_hash = %s AND revoked_at IS NULL
"""  # noqa: S608


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def api_scope_needed(*, view: object, method: str) -> str:
    """The scope a request needs: `<area>:read` to read (GET, HEAD), `<area>:write` otherwise, the
    area being the view's `api_scope`. A view that names no known area needs a scope no key holds
    (`tests/backoffice/test_roles_api.py` fails on one)."""
    area = getattr(view, "api_scope", "") or "undeclared"
    return f"{area}:{'read' if method.upper() in READ_METHODS else 'write'}"


def api_key_has_scope(*, api_key: ApiKey, scope: str) -> bool:
    scopes = api_key.scopes or ()
    return scope in scopes or (ALL_SCOPES in scopes and scope in API_SCOPES)


def api_scopes_check(scopes: list[str] | tuple[str, ...]) -> list[str]:
    """The scopes of a key, checked: known ones, at least one; sorted, each once."""
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scopes: {', '.join(unknown)}", field="scopes")
    if not scopes:
        raise InvalidInput("an API key needs at least one scope", field="scopes")
    return [ALL_SCOPES] if ALL_SCOPES in scopes else sorted(set(scopes))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(
    *,
    name: str,
    rate_limit_per_minute: int | None = None,
    scopes: list[str] | tuple[str, ...] = (ALL_SCOPES,),
) -> tuple[ApiKey, str]:
    """Create a key for the current brand (audited); returns the row and the key, which is never
    stored. `scopes`: what it may read and write (`API_SCOPES`), every scope unless given."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("an API key needs a name", field="name")
    scopes = api_scopes_check(scopes)
    prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
    key = f"lk_{prefix}_{secrets.token_urlsafe(32)}"
    fields: dict[str, str | int | list[str]] = {
        "name": name,
        "prefix": prefix,
        "key_hash": _hash(key),
        "scopes": scopes,
    }
    if rate_limit_per_minute:
        fields["rate_limit_per_minute"] = rate_limit_per_minute
    with transaction.atomic():
        api_key = ApiKey.objects.create(**fields)
        audit_record(action=AuditEntry.Action.CREATE, obj=api_key, after=_audited(api_key))
    return api_key, key


def _audited(api_key: ApiKey) -> dict:
    return audit_snapshot(api_key, fields=["name", "prefix", "rate_limit_per_minute", "scopes", "revoked_at"])


def api_key_authenticate(
    *, key: str, routing_token: str | None = None, cached_only: bool = False
) -> ApiKey | None:
    """The live key matching `key` in the current brand's schema, or None.

    Keys live in the brand's schema, so another brand's key simply does not exist here. Found keys
    are cached per process under the request's routing token (`tenants.routing`): a revoked key is
    refused from the next request on. `cached_only`: None unless the key is in this process's cache
    (no query), so the API can ask its guessing throttle only before a key is read."""
    if not key or not key.startswith("lk_"):
        return None
    key_hash = _hash(key)
    cache_key = (schema_current(), key_hash)
    if cached_only:
        api_key = API_KEYS.get(cache_key, token=routing_token)
    else:
        api_key = API_KEYS.get_or_read(cache_key, token=routing_token, read=lambda: _live_key_read(key_hash))
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now  # the cached key too: touched once a minute, not on every request
    return copy.copy(api_key)


def _live_key_read(key_hash: str) -> ApiKey | None:
    # Plain SQL: the ORM's query compilation cost as much as the rest of the authentication.
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_KEY_SQL, [key_hash])
        row = cursor.fetchone()
    return ApiKey.from_db(connection.alias, _LIVE_KEY_FIELDS, row) if row else None


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Requests with the key are refused from now on (audited; a revoked key stays revoked)."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            api_key.refresh_from_db(fields=["revoked_at"])
            audit_record(
                action=AuditEntry.Action.CHANGE,
                obj=api_key,
                before={"revoked_at": None},
                after={"revoked_at": audit_snapshot(api_key, fields=["revoked_at"])["revoked_at"]},
                reason="revoked",
            )
    routing_changed()
