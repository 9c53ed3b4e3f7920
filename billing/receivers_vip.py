"""Receivers of loyalty's changes that may make a member VIP or end it (README.md, "VIP and
billing"): a tier change (`tiers_changed`: a tier that grants VIP reached or left) and points
moved by an event (`points_changed`: a purchase, or its refund, that crosses the spend rule).
Connected by `BillingConfig.ready`: loyalty knows nothing of billing.

They cost next to nothing when nothing can change: a tier change is read only when the brand has
a tier that grants VIP, points only when it has a spend rule (both read once per programme
revision, which every change of the tiers or the settings moves; points read the revision the
event's recording just checked, no query)."""

from __future__ import annotations

from typing import Any

from billing.services.vip import members_vip_refresh
from loyalty.models import Member, ProgrammeSettings, Tier
from loyalty.services.events.programme import programme_revision, programme_revision_cached
from loyalty.signals import PointsChange, TierChange, member_anonymising, points_changed, tiers_changed
from tenants.selectors import schema_current

# Per schema: (programme revision, the ids of the tiers that grant VIP, whether a spend rule is set).
_RULES: dict[str, tuple[tuple, frozenset[int], bool]] = {}


def _vip_rules(*, revision: tuple | None) -> tuple[frozenset[int], bool]:
    schema = schema_current()
    cached = _RULES.get(schema)
    if cached is not None and revision is not None and cached[0] == revision:
        return cached[1], cached[2]
    tiers = frozenset(Tier.objects.filter(grants_vip=True).values_list("pk", flat=True))
    spend = ProgrammeSettings.objects.filter(id=1, vip_spend_amount__isnull=False).exists()
    if revision is not None:
        _RULES[schema] = (revision, tiers, spend)
    return tiers, spend


def tiers_received(sender: Any, changes: list[TierChange], **kwargs: Any) -> None:
    granting, _ = _vip_rules(revision=programme_revision())
    if not granting:
        return
    moved = [c.member_id for c in changes if c.from_tier_id in granting or c.to_tier_id in granting]
    if moved:
        members_vip_refresh(member_ids=moved)


def points_received(sender: Any, changes: list[PointsChange], **kwargs: Any) -> None:
    by_event = {change.member_id for change in changes if change.event_id is not None}
    if not by_event:
        return
    # Recording the event just checked the programme's revision: no query to read it again.
    _, spend = _vip_rules(revision=programme_revision_cached() or programme_revision())
    if spend:
        members_vip_refresh(member_ids=sorted(by_event))


def anonymising_received(sender: Any, member_id: int, **kwargs: Any) -> None:
    """An anonymised member is VIP no more (in the anonymisation's own transaction); the
    refreshes leave anonymised members as they are."""
    Member.objects.filter(pk=member_id, is_vip=True).update(is_vip=False, vip_source="", vip_since=None)


def receivers_connect() -> None:
    """Connect the receivers (once: the dispatch uids keep a second call from doubling them)."""
    tiers_changed.connect(tiers_received, weak=False, dispatch_uid="billing-vip-tiers")
    points_changed.connect(points_received, weak=False, dispatch_uid="billing-vip-points")
    member_anonymising.connect(anonymising_received, weak=False, dispatch_uid="billing-vip-anonymising")
