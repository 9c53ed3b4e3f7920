"""API keys of a brand's systems: created once (shown once), stored as a SHA-256, checked per request."""

from __future__ import annotations

import hashlib
import secrets

from django.db import connection
from django.utils import timezone

from loyalty.models import ApiKey

KEY_PREFIX_LENGTH = 8
_LIVE_KEY_FIELDS = ["id", "name", "prefix", "key_hash", "rate_limit_per_minute", "last_used_at", "revoked_at"]
_LIVE_KEY_SQL = """
    SELECT id, name, prefix, key_hash, rate_limit_per_minute, last_used_at, revoked_at
    FROM loyalty_apikey WHERE key_hash = %s AND revoked_at IS NULL
"""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, name: str, rate_limit_per_minute: int | None = None) -> tuple[ApiKey, str]:
    """Create a key for the current brand; returns the row and the key, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise ValueError("name: an API key needs a name")
    prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
    key = f"lk_{prefix}_{secrets.token_urlsafe(32)}"
    fields = {"name": name, "prefix": prefix, "key_hash": _hash(key)}
    if rate_limit_per_minute:
        fields["rate_limit_per_minute"] = rate_limit_per_minute
    return ApiKey.objects.create(**fields), key


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """The live key matching `key` in the current brand's schema, or None.

    Keys live in the brand's schema, so another brand's key simply does not exist here.
    """
    if not key or not key.startswith("lk_"):
        return None
    # Plain SQL: this runs on every API request, and the ORM's query compilation cost as much as
    # the rest of the authentication.
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_KEY_SQL, [_hash(key)])
        row = cursor.fetchone()
    api_key = ApiKey.from_db(connection.alias, _LIVE_KEY_FIELDS, row) if row else None
    if api_key is not None and (
        api_key.last_used_at is None or (timezone.now() - api_key.last_used_at).total_seconds() > 60
    ):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
