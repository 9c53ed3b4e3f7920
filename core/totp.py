"""Staff two-factor authentication (README "Staff accounts"): time-based one-time codes (TOTP,
RFC 6238 over HOTP, RFC 4226: HMAC-SHA1, 30-second steps, 6 digits, the defaults every
authenticator app reads from an `otpauth://` QR code) with the standard library, and recovery codes.

- Setup: `totp_setup_begin` gives the staff user a new secret (kept unconfirmed), shown as a QR code
  (segno, an inline SVG) and in text; `totp_setup_confirm` takes a first code from the app, and only
  then does the login ask for codes; it returns the recovery codes, shown once.
- Login (`totp_login_check`): a code of the current step, or of the one before or after (clocks
  drift), and newer than the last one accepted (`StaffProfile.totp_last_step`): a code seen by
  someone else is refused once used. A recovery code works once. Wrong codes count in the login
  lockout (`core.lockout`) under the account `totp:<username>`: a right password forgives the
  password's mistypes, never the code's; the 6th wrong code in 15 minutes refuses codes for 15
  minutes, the right one included.
- Recovery codes: 10 of 10 Crockford base32 characters (50 bits) each, typed in any case, spaces and
  hyphens ignored; only an HMAC-SHA256 (keyed by SECRET_KEY and the brand's schema) is stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, Refused
from core.lockout import account_key, login_attempt_begin, login_attempt_end
from core.models import StaffProfile
from tenants.models import Lockout
from tenants.selectors import schema_current

STEP_SECONDS = 30
DIGITS = 6
# Steps accepted on either side of the server's: an app's clock a little off still works.
DRIFT_STEPS = 1
SECRET_BYTES = 20  # RFC 4226's recommended 160 bits: 32 base32 characters
RECOVERY_CODES = 10
RECOVERY_CODE_LENGTH = 10
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# --- RFC 6238 -----------------------------------------------------------------------------------


def totp_secret_new() -> str:
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _secret_bytes(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)


def totp_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def totp_code(*, secret: str, step: int) -> str:
    """The code of a time step (RFC 4226's HOTP of the step counter, dynamically truncated)."""
    digest = hmac.new(_secret_bytes(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def totp_match(*, secret: str, code: str, after_step: int | None, at: float | None = None) -> int | None:
    """The step whose code `code` is, within the drift around now and after `after_step`, or None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = totp_step(at)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp_code(secret=secret, step=step), code):
            return step
    return None


def totp_uri(*, secret: str, account: str, issuer: str) -> str:
    """The `otpauth://` URI an authenticator app reads from the QR code (Google's Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe="@")
    query = urlencode({"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP_SECONDS})
    return f"otpauth://totp/{label}?{query}"


def totp_qr_svg(uri: str) -> str:
    """The QR code of `uri` as an inline SVG element (no style attribute: the CSP holds)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, title=_("QR code for the app"))


# --- recovery codes -------------------------------------------------------------------------------


def recovery_code_normalise(code: str) -> str:
    """As typed to as generated: any case, spaces and hyphens ignored, O read as 0, I and L as 1."""
    code = "".join(code.upper().replace("-", "").split())
    return code.translate(str.maketrans("OIL", "011"))


def recovery_code_digest(code: str) -> str:
    key = hashlib.sha256(f"core.totp.recovery:{settings.SECRET_KEY}:{schema_current()}".encode()).digest()
    return hmac.new(key, recovery_code_normalise(code).encode(), hashlib.sha256).hexdigest()


def _recovery_codes_new() -> list[str]:
    codes = []
    for _index in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CROCKFORD) for _char in range(RECOVERY_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


# --- services -----------------------------------------------------------------------------------


def _profile_locked(user: Any) -> StaffProfile:
    profile = StaffProfile.objects.select_for_update().filter(user=user).first()
    if profile is None:
        raise Refused(_("This account has no staff profile."), code="not_staff")
    return profile


def totp_setup_begin(*, user: Any) -> str:
    """A new secret for `user`, not asked at login until confirmed; an earlier one stops working."""
    secret = totp_secret_new()
    with transaction.atomic():
        profile = _profile_locked(user)
        profile.totp_secret = secret
        profile.totp_confirmed_at = None
        profile.totp_last_step = None
        profile.recovery_codes = []
        profile.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step", "recovery_codes"])
    return secret


def totp_setup_confirm(*, user: Any, code: str) -> list[str]:
    """The first code from the app proves it holds the secret: codes are asked at login from now on.
    Returns the recovery codes in clear (shown once; only their digests are kept)."""
    with transaction.atomic():
        profile = _profile_locked(user)
        if not profile.totp_secret:
            raise Refused(_("Start the setup again: no secret is waiting."), code="totp_not_started")
        step = totp_match(secret=profile.totp_secret, code=code, after_step=profile.totp_last_step)
        if step is None:
            raise InvalidInput(
                _("This code is not the app's current one. Check the app's time."), field="code"
            )
        codes = _recovery_codes_new()
        profile.totp_confirmed_at = timezone.now()
        profile.totp_last_step = step
        profile.recovery_codes = [recovery_code_digest(code) for code in codes]
        profile.save(update_fields=["totp_confirmed_at", "totp_last_step", "recovery_codes"])
    return codes


def totp_recovery_codes_renew(*, user: Any) -> list[str]:
    """New recovery codes for a confirmed setup; the old ones stop working. Returned in clear."""
    codes = _recovery_codes_new()
    with transaction.atomic():
        profile = _profile_locked(user)
        if profile.totp_confirmed_at is None:
            raise Refused(_("Set up the app first."), code="totp_not_confirmed")
        profile.recovery_codes = [recovery_code_digest(code) for code in codes]
        profile.save(update_fields=["recovery_codes"])
    return codes


def totp_remove(*, user: Any) -> None:
    """`user` no longer uses a second factor (an owner's reset for a lost phone, or their own)."""
    with transaction.atomic():
        profile = _profile_locked(user)
        profile.totp_secret = ""
        profile.totp_confirmed_at = None
        profile.totp_last_step = None
        profile.recovery_codes = []
        profile.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step", "recovery_codes"])


@dataclass(frozen=True)
class CodeCheck:
    """How a login's code went: accepted (and whether by a recovery code, how many are left), or the
    lockout that refuses codes now."""

    accepted: bool
    recovery: bool = False
    recovery_left: int = 0
    lockout: Lockout | None = None


def totp_account(username: str) -> str:
    """The lockout account counting a user's wrong codes, apart from their wrong passwords."""
    return f"totp:{account_key(username)}"


def totp_login_check(*, user: Any, code: str, ip: str | None) -> CodeCheck:
    """The code typed after the password: the app's (once per step) or a recovery code (once)."""
    lockout, failure_id = login_attempt_begin(
        schema_name=schema_current(), username=totp_account(user.get_username()), ip=ip
    )
    if lockout is not None:
        return CodeCheck(accepted=False, lockout=lockout)
    result = CodeCheck(accepted=False)
    with transaction.atomic():
        profile = _profile_locked(user)
        if profile.totp_confirmed_at is not None:
            step = totp_match(secret=profile.totp_secret, code=code, after_step=profile.totp_last_step)
            if step is not None:
                profile.totp_last_step = step
                profile.save(update_fields=["totp_last_step"])
                result = CodeCheck(accepted=True)
            else:
                digest = recovery_code_digest(code)
                if digest in profile.recovery_codes:
                    profile.recovery_codes = [kept for kept in profile.recovery_codes if kept != digest]
                    profile.save(update_fields=["recovery_codes"])
                    result = CodeCheck(
                        accepted=True, recovery=True, recovery_left=len(profile.recovery_codes)
                    )
    lockout = login_attempt_end(failure_id=failure_id, succeeded=result.accepted)
    if lockout is not None:
        return CodeCheck(accepted=False, lockout=lockout)
    return result
