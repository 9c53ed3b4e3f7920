"""Hooks other apps listen to (messaging's triggers and outgoing webhooks): what changed for members.

Each is sent once per committed transaction (`transaction.on_commit`), in the brand's schema, with
`changes`: a list of the frozen dataclasses below (a batch of events sends one list, not one signal
per event). Receivers run in the request or task that made the change: they store outbox rows in a
transaction of their own and queue their sends (core.outbox), and must cost nothing (no query) when
the brand has switched on nothing that listens (cache what they read per programme revision).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.dispatch import Signal


@dataclass(frozen=True)
class MemberChange:
    member_id: int
    created: bool


@dataclass(frozen=True)
class PointsChange:
    member_id: int
    # earned, redeemed, expired, reversed or adjusted (a staff adjustment)
    kind: str
    points: int  # positive for earned and adjustments up; negative for what left the balance
    balance_after: int
    ledger_entry_id: int
    event_id: int | None = None


@dataclass(frozen=True)
class TierChange:
    member_id: int
    from_tier_id: int | None
    to_tier_id: int | None


members_changed = Signal()  # changes: list[MemberChange]
points_changed = Signal()  # changes: list[PointsChange]
tiers_changed = Signal()  # changes: list[TierChange]
