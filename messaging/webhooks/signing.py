"""Deliveries are signed in the style of Stripe's webhooks (docs/webhooks.md has the receiver's
check): `X-Loyalty-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with
the endpoint's secret. The time is the attempt's, so a receiver can refuse old replays."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Loyalty-Signature"
SECRET_PREFIX = "whsec_"


def secret_new() -> str:
    """A new endpoint's signing secret: 32 random bytes, URL-safe."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of `X-Loyalty-Signature` for `body` sent at `timestamp` (seconds since 1970)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
