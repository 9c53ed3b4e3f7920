"""Reads about activation codes (written by `loyalty.services.activation`): a member's codes with
their state, the login name activation gives, and the per-address limit of attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from loyalty.models import ActivationAttempt, ActivationCode, Member

IP_FAILURES = 20  # failures from one address in IP_WINDOW; the next attempts are refused
IP_WINDOW = timedelta(minutes=10)


def member_activation_codes(*, member: Member) -> QuerySet[ActivationCode]:
    """The member's codes, the latest first (digests only: no code can be read back)."""
    return ActivationCode.objects.filter(member=member).order_by("-issued_at", "-id")


def activation_code_state(*, code: ActivationCode, now: datetime | None = None) -> str:
    """`active`, `used`, `revoked` or `expired`."""
    if code.used_at is not None:
        return "used"
    if code.revoked_at is not None:
        return "revoked"
    if code.expires_at <= (now or timezone.now()):
        return "expired"
    return "active"


def activation_ip_locked_until(*, ip: str | None, now: datetime) -> datetime | None:
    """Until when attempts from `ip` are refused: when the oldest of its last IP_FAILURES failures
    leaves the window, if that many are in it (refused attempts are not failures: the lock ends)."""
    if not ip:
        return None
    failures = (
        ActivationAttempt.objects.filter(ip=ip, at__gt=now - IP_WINDOW)
        .exclude(outcome__in=[ActivationAttempt.Outcome.ACCEPTED, ActivationAttempt.Outcome.IP_LOCKED])
        .order_by("-at")
        .values_list("at", flat=True)[IP_FAILURES - 1 : IP_FAILURES]
    )
    oldest = next(iter(failures), None)
    return oldest + IP_WINDOW if oldest is not None else None


def activation_login_name(*, member: Member) -> str | None:
    """The username the member logs in with after activation: their login's if they have one,
    else their e-mail, else their external id, whichever no other login has (None: neither)."""
    if member.user is not None:
        return member.user.get_username()
    users = get_user_model().objects
    for candidate in (member.email.strip().lower(), member.external_id):
        if candidate and not users.filter(username__iexact=candidate).exists():
            return candidate
    return None
