"""Activation codes (README.md, Activation codes): a member's one-time code to set their password on
the member site, printed in a reseller's launch letter.

- A code is 10 Crockford base32 characters (50 bits from `secrets`), shown grouped as `K7QM-2XPD-9R`;
  typed codes are read case-insensitively, hyphens and spaces ignored, O as 0 and I or L as 1.
- Only an HMAC-SHA256 of the normalised code is stored (key derived from SECRET_KEY and the brand's
  schema): a typed code is found by one unique index, and nothing stored reads back as a code. A
  code issued under a key of SECRET_KEY_FALLBACKS is still found (the same single query).
- A member has one code in force at most (a partial unique constraint): issuing one revokes the
  others, under the member's row lock.
- Attempts (`activation_attempt`) are limited per code and per address, in the brand's schema
  (`ActivationAttempt`, `ActivationCode.locked_until`): the code's row lock serialises attempts on
  one code, an advisory lock those from one address. The 5th wrong postcode with a real code locks
  it for 15 minutes, the right postcode included; the 21st failure from one address in 10 minutes
  (unknown codes included) is refused with every later attempt until the failures leave the window.
  A used, expired or revoked code says which only with the right postcode: a guessed code, real or
  not, otherwise reads "this code or postcode is wrong".
- `activation_complete` sets the password on the member's login (made if they have none) and uses
  the code, in one transaction holding the member's and the code's rows: two completions never
  both use a code.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import formats, timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.errors import Conflict, InvalidInput, Refused
from core.lockout import login_lockout_clear
from loyalty.models import ActivationAttempt, ActivationCode, Member
from loyalty.selectors.activation import activation_ip_locked_until, activation_login_name
from loyalty.selectors.programme import programme_settings
from tenants.selectors import brand_timezone, schema_current

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
CODE_LENGTH = 10  # 32**10 = 2**50 codes
GROUPS = (4, 4, 2)
CODE_FAILURES = 5  # wrong postcodes with a real code; the last of them locks it
CODE_LOCK = timedelta(minutes=15)
# Attempts are kept this long (a code's history for support), then purged by the nightly run; the
# per-address window (10 minutes) and the per-code lock only ever read the last minutes.
ATTEMPTS_KEPT = timedelta(days=90)
_TYPED_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile("[\\s\\-\u2010-\u2015]+")  # spaces and hyphens of every kind


@dataclass(frozen=True)
class IssuedCode:
    """A new code in clear: shown once (API answer, backoffice page, letter), never stored."""

    code: str
    expires_at: datetime
    activation_code: ActivationCode


def code_format(raw: str) -> str:
    """A code as printed and shown: groups of 4, 4 and 2 characters joined by hyphens."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(raw[start : start + size])
        start += size
    return "-".join(parts)


def code_normalise(typed: str) -> str | None:
    """The code as typed from paper, normalised (upper case, separators gone, O as 0, I and L as 1),
    or None if it cannot be a code (length, characters)."""
    code = _SEPARATORS.sub("", typed or "").upper().translate(_TYPED_ALIASES)
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


def code_digests(code: str) -> list[str]:
    """The HMACs a normalised code may be stored under: with SECRET_KEY first, then its fallbacks.
    The brand's schema is in the key: the same code in two brands has two digests."""
    salt = f"loyalty.activation-code:{schema_current()}"
    secrets_ = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [salted_hmac(salt, code, secret=secret, algorithm="sha256").hexdigest() for secret in secrets_]


def postcode_normalise(postcode: str) -> str:
    """A postcode compared case-insensitively, spaces and hyphens aside (`sw1a 1aa` is `SW1A1AA`)."""
    return _SEPARATORS.sub("", postcode or "").upper()


def _member_can_activate(member: Member) -> None:
    if member.status == Member.Status.ANONYMISED:
        raise Refused(
            _("the member is anonymised: they cannot activate an account"), code="member_anonymised"
        )
    if member.status == Member.Status.BLOCKED:
        raise Refused(_("the member is blocked: unblock them first"), code="member_blocked")


def activation_code_issue(
    *, member: Member, by: Any = None, source: str = ActivationCode.Source.API
) -> IssuedCode:
    """A new code for the member, valid for the programme's `activation_code_days`; the member's
    older codes still in force are revoked. `by` is the staff user who asked (None for the API and
    the launch mailing). Refused for a member who is blocked, anonymised or has no postcode (the
    site asks for it with the code)."""
    if source not in ActivationCode.Source.values:
        raise InvalidInput(f"is one of {', '.join(ActivationCode.Source.values)}", field="source")
    now = timezone.now()
    days = programme_settings().activation_code_days
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        _member_can_activate(locked)
        if not postcode_normalise(locked.postal_code):
            raise Refused(
                _("postal_code: the member has no postcode, which activation asks for with the code"),
                code="postal_code_missing",
                field="postal_code",
            )
        ActivationCode.objects.filter(member=locked, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        raw = "".join(secrets.choice(ALPHABET) for _index in range(CODE_LENGTH))
        row = ActivationCode.objects.create(
            member=locked,
            digest=code_digests(raw)[0],
            source=source,
            issued_by=by,
            issued_at=now,
            expires_at=now + timedelta(days=days),
        )
    return IssuedCode(code=code_format(raw), expires_at=row.expires_at, activation_code=row)


# --- attempts on the member site -------------------------------------------------------------------


def _local(at: datetime) -> datetime:
    return timezone.localtime(at, brand_timezone())


def _wait(until: datetime, now: datetime) -> str:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return ngettext(
        "Try again in %(minutes)d minute (at %(time)s).",
        "Try again in %(minutes)d minutes (at %(time)s).",
        minutes,
    ) % {"minutes": minutes, "time": formats.time_format(_local(until), "H:i")}


def _serialise_address(ip: str | None) -> None:
    """Attempts from one address wait for each other (until commit), so none escapes the count."""
    if ip:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"activation:{schema_current()}:ip:{ip}"],
            )


def _refusal(
    outcome: str, code: ActivationCode | None, now: datetime, until: datetime | None = None
) -> Refused:
    """What the member site says for each way an attempt fails (`error.code` is the outcome):
    a lock says until when, a used, expired or revoked code since when."""
    Outcome = ActivationAttempt.Outcome
    since: dict[str, datetime | None] = {}
    if code is not None:
        since = {
            Outcome.USED: code.used_at,
            Outcome.EXPIRED: code.expires_at,
            Outcome.REVOKED: code.revoked_at,
        }
    at = since.get(outcome, until)
    if outcome == Outcome.MEMBER_BLOCKED:
        message = _("This account cannot be activated. Please contact the programme.")
    elif at is None:  # an unknown code, a wrong postcode
        message = _("This code or postcode is wrong. Check both as they are printed on your letter.")
    elif outcome == Outcome.IP_LOCKED:
        message = " ".join([_("Too many failed attempts from your connection."), _wait(at, now)])
    elif outcome == Outcome.CODE_LOCKED:
        locked = _("This code is locked after too many wrong postcodes, even with the right one.")
        message = " ".join([locked, _wait(at, now)])
    elif outcome == Outcome.USED:
        message = _(
            "This code was already used, on %(date)s: your account is active. Log in, or reset your "
            "password if you have forgotten it."
        ) % {"date": formats.date_format(_local(at))}
    elif outcome == Outcome.EXPIRED:
        message = _("This code expired on %(date)s. Ask the programme for a new one.") % {
            "date": formats.date_format(_local(at))
        }
    else:  # revoked
        message = _("This code was replaced by a newer one on %(date)s: use the code you received last.") % {
            "date": formats.date_format(_local(at))
        }
    return Refused(message, code=outcome)


def activation_attempt(*, code: str, postal_code: str, ip: str | None) -> ActivationCode:
    """Step 1 of activation: the code typed and the member's postcode. The code in force (its
    member loaded) if both are right, else `Refused` whose `code` is the outcome
    (`ActivationAttempt.Outcome`). Each attempt is recorded, whatever its outcome."""
    normalised = code_normalise(code)
    if normalised is None:
        raise InvalidInput(
            _("An activation code has 10 letters and digits, such as K7QM-2XPD-9R."), field="code"
        )
    if not postcode_normalise(postal_code):
        raise InvalidInput(_("Type your postcode."), field="postal_code")
    Outcome = ActivationAttempt.Outcome
    now = timezone.now()
    row = None
    outcome: str
    answer: str
    with transaction.atomic():
        _serialise_address(ip)
        until = activation_ip_locked_until(ip=ip, now=now)
        if until is not None:
            outcome = answer = Outcome.IP_LOCKED
        else:
            row = (
                ActivationCode.objects.select_for_update(of=("self",))
                .select_related("member")
                .filter(digest__in=code_digests(normalised))
                .first()
            )
            outcome, until = _attempt_outcome(row, postal_code, now)
            # The wrong postcode that locks the code is answered so, and recorded as what it was.
            answer = Outcome.CODE_LOCKED if until is not None else outcome
        ActivationAttempt.objects.create(code=row, ip=ip, at=now, outcome=outcome)
    if answer != Outcome.ACCEPTED:
        raise _refusal(answer, row, now, until)
    assert row is not None
    return row


def _attempt_outcome(
    row: ActivationCode | None, postal_code: str, now: datetime
) -> tuple[str, datetime | None]:
    """How an attempt on this code row (locked) goes, and until when the code is locked if it is;
    the code's failures and lock are updated."""
    Outcome = ActivationAttempt.Outcome
    if row is None:
        return Outcome.UNKNOWN, None
    if row.locked_until is not None and row.locked_until > now:
        return Outcome.CODE_LOCKED, row.locked_until
    if postcode_normalise(row.member.postal_code) != postcode_normalise(postal_code):
        row.failed_attempts += 1
        locks = row.failed_attempts >= CODE_FAILURES
        if locks:
            row.failed_attempts, row.locked_until = 0, now + CODE_LOCK
        row.save(update_fields=["failed_attempts", "locked_until"])
        return Outcome.WRONG_POSTCODE, row.locked_until if locks else None
    state = _state_refused(row, now)
    if state is not None:
        return state, None
    if row.failed_attempts:
        row.failed_attempts = 0
        row.save(update_fields=["failed_attempts"])
    return Outcome.ACCEPTED, None


def _state_refused(row: ActivationCode, now: datetime) -> str | None:
    """Why a code cannot be used now (used, revoked, expired, its member not active), or None."""
    Outcome = ActivationAttempt.Outcome
    if row.used_at is not None:
        return Outcome.USED
    if row.revoked_at is not None:
        return Outcome.REVOKED
    if row.expires_at <= now:
        return Outcome.EXPIRED
    if row.member.status != Member.Status.ACTIVE:
        return Outcome.MEMBER_BLOCKED
    return None


def activation_complete(*, code_id: int, password: str) -> Any:
    """Step 2: set the password on the member's login (made and linked if they have none), use the
    code, lift the login's lockout; one transaction with the member's and the code's rows locked.
    Returns the login. The password is checked by Django's validators (`new_password1`)."""
    now = timezone.now()
    with transaction.atomic():
        member_id = ActivationCode.objects.values_list("member_id", flat=True).get(pk=code_id)
        member = Member.objects.select_for_update(of=("self",)).select_related("user").get(pk=member_id)
        row = ActivationCode.objects.select_for_update().get(pk=code_id)
        row.member = member
        outcome = _state_refused(row, now)
        if outcome is not None:
            raise _refusal(outcome, row, now)
        user = member.user
        if user is not None and (user.is_staff or user.is_superuser):
            # A sales rep's own member account: a code never sets a staff user's password.
            raise Conflict(
                _("This account is a staff login: log in with it, or reset its password."), code="staff_login"
            )
        if user is None:
            username = activation_login_name(member=member)
            if username is None:
                raise Conflict(
                    _("No login name is free for this member: please contact the programme."),
                    code="login_taken",
                )
            user = get_user_model()(
                username=username,
                email=member.email,
                first_name=member.first_name,
                last_name=member.last_name,
            )
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            raise InvalidInput({"new_password1": list(error.messages)}) from error
        user.set_password(password)
        user.save()
        if member.user_id != user.pk:
            member.user = user
            member.save(update_fields=["user", "updated_at"])
        row.used_at = now
        row.save(update_fields=["used_at"])
        login_lockout_clear(
            schema_name=schema_current(), username=user.get_username(), cleared_by="activation code"
        )
    return user


def activation_attempts_purge(*, now: datetime | None = None) -> int:
    """Delete the attempts older than `ATTEMPTS_KEPT` (the brand's nightly run); how many."""
    before = (now or timezone.now()) - ATTEMPTS_KEPT
    deleted, _ = ActivationAttempt.objects.filter(at__lt=before).delete()
    return deleted
