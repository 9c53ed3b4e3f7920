"""A member's VIP status (README.md, "VIP and billing"): `is_vip`, `vip_source` and `vip_since`
recomputed from the sources, in this order of precedence: a staff grant (`manual`), a live
subscription, a tier that grants VIP, the spend rule (`billing.selectors_vip`).

`vip_since` stays while the member stays VIP, whatever source holds it from day to day; it is
set when they become VIP and cleared when they stop. Becoming VIP fires the `vip_welcome`
trigger once (its dedupe key: the member and the day), after the commit.

Called by the subscription handling (a Stripe event applied), by the receivers of the tiers'
and points' changes (`billing.receivers_vip`), by the nightly refresh (a spend window that slid,
a period that ended) and by `vip_grant_set` (staff, the API's `is_vip`)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from billing.selectors_vip import member_vip_source, members_vip_drifted
from loyalty.models import Member
from loyalty.selectors.programme import programme_settings
from loyalty.services.ledger import member_lock
from messaging.models import TriggerKind
from messaging.triggers import trigger_fire


def member_vip_refresh(*, member: Member, now: datetime | None = None) -> Member:
    """Recompute the member's VIP status under their row lock; returns the member as stored.
    An anonymised member is left as they are."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        return _vip_apply(member=locked, manual=locked.vip_source == Member.VipSource.MANUAL, now=now)


def vip_grant_set(*, member: Member, granted: bool, now: datetime | None = None) -> Member:
    """Staff (the backoffice, the API's `is_vip`) grant or withdraw VIP by hand: the `manual`
    source. Withdrawing it leaves the member VIP, since the same date, if another source holds
    (a paid subscription)."""
    now = now or timezone.now()
    with transaction.atomic():
        return _vip_apply(member=member_lock(member_id=member.pk), manual=granted, now=now)


def _vip_apply(*, member: Member, manual: bool, now: datetime) -> Member:
    """Decide and store the status of `member` (row-locked by the caller)."""
    if member.status == Member.Status.ANONYMISED:
        return member
    source = member_vip_source(member=member, manual=manual, programme=programme_settings(), now=now)
    since = (member.vip_since or now) if source and member.is_vip else (now if source else None)
    became = bool(source) and not member.is_vip
    if (member.is_vip, member.vip_source, member.vip_since) != (bool(source), source, since):
        member.is_vip, member.vip_source, member.vip_since = bool(source), source, since
        Member.objects.filter(pk=member.pk).update(is_vip=member.is_vip, vip_source=source, vip_since=since)
    if became:
        member_id, key = member.pk, f"{member.pk}:{now.date().isoformat()}"
        transaction.on_commit(lambda: _welcome(member_id=member_id, dedupe_key=key))
    return member


def _welcome(*, member_id: int, dedupe_key: str) -> None:
    """The welcome message (`trigger_fire` logs its own failures; nothing when no trigger is on)."""
    member = Member.objects.select_related("tier").filter(pk=member_id).first()
    if member is not None and member.is_vip:
        trigger_fire(kind=TriggerKind.VIP_WELCOME, member=member, dedupe_key=dedupe_key)


def members_vip_refresh(*, member_ids: list[int], now: datetime | None = None) -> int:
    """Refresh each of these members (one transaction each); returns how many changed."""
    now = now or timezone.now()
    changed = 0
    for member in Member.objects.filter(pk__in=member_ids).order_by("pk"):
        before = (member.is_vip, member.vip_source, member.vip_since)
        after = member_vip_refresh(member=member, now=now)
        changed += before != (after.is_vip, after.vip_source, after.vip_since)
    return changed


def vips_refresh_drifted(*, now: datetime | None = None) -> int:
    """The nightly refresh: every member whose stored source is no longer what the sources give
    (the spend window slid, a subscription's period ended, a tier's flag changed)."""
    now = now or timezone.now()
    drifted = members_vip_drifted(programme=programme_settings(), now=now)
    return members_vip_refresh(member_ids=drifted, now=now)
