"""Writes of the club spaces: their definition (checked as the database's constraints would, with
errors per field), confidential codes (made in clear once, stored as their HMAC) and the attempts
of members who type one (README.md, "Club spaces").

A code is typed and stored as activation codes are (`loyalty.services.activation`: the same
alphabet, groups, normalisation and keyed digests) and its attempts are limited the same way: the
`CODE_FAILURES`th wrong code of a member on a space locks that member out of the space's form for
`CODE_LOCK`; `IP_FAILURES` failures from one address within `IP_WINDOW` lock the address. Attempts
from one member or address wait for each other (an advisory lock until commit), so none escapes
the count."""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import Gift
from clubs.models import Space, SpaceCode, SpaceCodeAttempt, SpaceGrant
from core.errors import InvalidInput, Refused
from loyalty.models import Member
from loyalty.selectors.activation import IP_FAILURES, IP_WINDOW
from loyalty.services.activation import (
    ALPHABET,
    ATTEMPTS_KEPT,
    CODE_FAILURES,
    CODE_LENGTH,
    CODE_LOCK,
    code_digests,
    code_format,
    code_normalise,
)
from tenants.selectors import brand_timezone, schema_current

Outcome = SpaceCodeAttempt.Outcome
Lock = tuple[str, datetime]  # (member_locked or ip_locked, until when)
SPACE_FIELDS = (
    "slug", "name", "teaser", "how_to_enter", "entry", "tier", "segment", "attribute_event_type",
    "attribute_name", "attribute_operator", "attribute_value", "is_active", "position",
)  # fmt: skip


def space_validate(*, space: Space) -> Space:
    """The space's fields checked, with what its entry condition needs named per field."""
    errors: dict[str, list[str]] = {}
    try:
        space.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    Entry = Space.Entry
    if space.entry == Entry.TIER and space.tier_id is None:
        errors.setdefault("tier", []).append(_("is required: members of this tier or a higher one enter"))
    if space.entry == Entry.SEGMENT and space.segment_id is None:
        errors.setdefault("segment", []).append(_("is required: members of this segment enter"))
    if space.entry == Entry.ATTRIBUTE:
        for field in ("attribute_event_type", "attribute_name", "attribute_operator"):
            if not getattr(space, field):
                errors.setdefault(field, []).append(_("is required for an attribute condition"))
        if space.attribute_value is None:
            errors.setdefault("attribute_value", []).append(_("is required for an attribute condition"))
    if errors:
        raise InvalidInput(errors)
    return space


def space_save(*, space: Space) -> Space:
    with transaction.atomic():
        space_validate(space=space)
        space.save()
    return space


def space_gifts_set(*, space: Space, gifts: Iterable[Gift]) -> int:
    """The catalogue's gifts reserved for the space's members: these, and no others (a gift
    reserved for another space moves here). Returns how many the space now has."""
    ids = [gift.pk for gift in gifts]
    with transaction.atomic():
        Gift.objects.filter(space=space).exclude(pk__in=ids).update(space=None)
        return Gift.objects.filter(pk__in=ids).update(space=space)


# --- confidential codes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSpaceCode:
    """A new code in clear: shown once (the backoffice page), never stored."""

    code: str
    space_code: SpaceCode


def _digests(*, space: Space, normalised: str) -> list[str]:
    """The HMACs the code may be stored under for this space (activation's keyed digests, the
    space in the message: the same code of two spaces or two brands never matches the other)."""
    return code_digests(f"club-space:{space.pk}:{normalised}")


def space_code_issue(*, space: Space, label: str = "") -> IssuedSpaceCode:
    """A new confidential code for a code space."""
    if space.entry != Space.Entry.CODE:
        raise InvalidInput(_("only a space entered by a code has codes"), field="entry")
    raw = "".join(secrets.choice(ALPHABET) for _index in range(CODE_LENGTH))
    with transaction.atomic():
        row = SpaceCode.objects.create(
            space=space, label=label[:120], digest=_digests(space=space, normalised=raw)[0]
        )
    return IssuedSpaceCode(code=code_format(raw), space_code=row)


def space_code_revoke(*, space_code: SpaceCode) -> SpaceCode:
    """The code stops letting members in; those it let in stay in."""
    if space_code.revoked_at is None:
        space_code.revoked_at = timezone.now()
        space_code.save(update_fields=["revoked_at"])
    return space_code


def _serialise(*keys: str) -> None:
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _failures(*, now: datetime, **where: Any) -> list[datetime]:
    return list(
        SpaceCodeAttempt.objects.filter(at__gt=now - (IP_WINDOW if "ip" in where else CODE_LOCK), **where)
        .filter(outcome=Outcome.WRONG)
        .order_by("-at")
        .values_list("at", flat=True)
    )


def _locked_until(
    *, space: Space, member: Member, ip: str | None, now: datetime
) -> tuple[str, datetime] | None:
    """The lock in force, if any: the member's on this space (their last CODE_FAILURES wrong codes
    within CODE_LOCK), or the address's (IP_FAILURES failures within IP_WINDOW)."""
    mine = _failures(now=now, space=space, member=member)
    if len(mine) >= CODE_FAILURES:
        return Outcome.MEMBER_LOCKED, mine[CODE_FAILURES - 1] + CODE_LOCK
    if ip:
        theirs = _failures(now=now, ip=ip)
        if len(theirs) >= IP_FAILURES:
            return Outcome.IP_LOCKED, theirs[IP_FAILURES - 1] + IP_WINDOW
    return None


def _wait(until: datetime, now: datetime) -> str:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    at = formats.time_format(timezone.localtime(until, brand_timezone()), "H:i")
    return ngettext(
        "Try again in %(minutes)d minute (at %(time)s).",
        "Try again in %(minutes)d minutes (at %(time)s).",
        minutes,
    ) % {"minutes": minutes, "time": at}


def space_code_attempt(*, space: Space, member: Member, code: str, ip: str | None) -> SpaceGrant:
    """A member types a code of the space: the grant (recorded once, with the code) if it is one
    in force, else `Refused` with `code` wrong_code, member_locked or ip_locked. Each attempt is
    recorded, whatever its outcome; a code that cannot be one (its length, its characters) is an
    InvalidInput and not counted."""
    if space.entry != Space.Entry.CODE:
        raise InvalidInput(_("this space is not entered with a code"), field="code")
    normalised = code_normalise(code)
    if normalised is None:
        raise InvalidInput(_("A code has 10 letters and digits, such as K7QM-2XPD-9R."), field="code")
    now = timezone.now()
    with transaction.atomic():
        schema = schema_current()
        _serialise(f"clubs:{schema}:member:{member.pk}", *([f"clubs:{schema}:ip:{ip}"] if ip else []))
        granted = SpaceGrant.objects.filter(space=space, member=member).first()
        if granted is not None:
            return granted
        lock = _locked_until(space=space, member=member, ip=ip, now=now)
        row = None
        if lock is None:
            row = (
                SpaceCode.objects.filter(space=space, revoked_at__isnull=True)
                .filter(digest__in=_digests(space=space, normalised=normalised))
                .first()
            )
        outcome = lock[0] if lock is not None else (Outcome.ACCEPTED if row is not None else Outcome.WRONG)
        SpaceCodeAttempt.objects.create(space=space, member=member, ip=ip, at=now, outcome=outcome)
        if outcome == Outcome.ACCEPTED:
            return SpaceGrant.objects.create(space=space, member=member, code=row, granted_at=now)
        if outcome == Outcome.WRONG:
            # The wrong code that reaches the limit is answered as the lock it starts.
            lock = _locked_until(space=space, member=member, ip=ip, now=now)
    if lock is None:
        raise Refused(_("This code is not right. Check it as it was given to you."), code=Outcome.WRONG)
    if lock[0] == Outcome.IP_LOCKED:
        message = _("Too many failed attempts from your connection.")
    else:
        message = _("Too many wrong codes for this space.")
    raise Refused(" ".join([message, _wait(lock[1], now)]), code=lock[0])


def space_code_attempts_purge(*, now: datetime | None = None) -> int:
    """Delete the attempts older than activation's `ATTEMPTS_KEPT` (the nightly run); how many.
    The locks only ever read the last minutes."""
    before = (now or timezone.now()) - ATTEMPTS_KEPT
    deleted, _ = SpaceCodeAttempt.objects.filter(at__lt=before).delete()
    return deleted
