"""Hooks other apps listen to (messaging's triggers and outgoing webhooks): what changed for members.

Each is sent once per committed transaction (`changes_send`, by `transaction.on_commit`), in the
brand's schema, with `changes`: a list of the frozen dataclasses below (a batch of events sends one
list, not one signal per event). Receivers run in the request or task that made the change: they
store outbox rows in a transaction of their own and queue their sends (core.outbox), and must cost
nothing (no query) when the brand has switched on nothing that listens (cache what they read per
programme revision). A receiver's error is logged: the change is committed already.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.dispatch import Signal
from django_tenants.utils import schema_context

from core.signals import signal_send_logged
from tenants.selectors import schema_current


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


class _Send:
    """The send of one signal after commit, with the changes of its transaction (at its savepoint)."""

    __slots__ = ("changes", "schema_name", "signal")

    def __init__(self, signal: Signal, changes: list, schema_name: str) -> None:
        self.signal, self.changes, self.schema_name = signal, changes, schema_name

    def __call__(self) -> None:
        if schema_current() == self.schema_name:
            self._send()
        else:
            with schema_context(self.schema_name):
                self._send()

    def _send(self) -> None:
        # The change is committed: a receiver's failure is logged, never the writer's error.
        signal_send_logged(
            self.signal, sender=None, about=f"{len(self.changes)} changes", changes=self.changes
        )


def changes_send(signal: Signal, changes: Iterable[object]) -> None:
    """Send `signal` with `changes` once the transaction commits (at once outside one). Changes made
    at the same savepoint as the last hook waiting for this commit join its list: a batch written
    in steps is sent once, and what a savepoint rolled back is dropped with it (Django drops the
    hooks registered inside it). Costs nothing when nothing listens: `changes`, an iterable, is not
    even read."""
    if not signal.receivers:
        return
    batch = list(changes)
    if not batch:
        return
    pending = connection.run_on_commit
    if connection.in_atomic_block and pending:
        sids, last = pending[-1][0], pending[-1][1]  # (savepoint ids, hook, robust)
        if isinstance(last, _Send) and last.signal is signal and sids == set(connection.savepoint_ids):
            last.changes.extend(batch)
            return
    transaction.on_commit(_Send(signal, batch, schema_current()))


# Sent INSIDE the transaction that anonymises a member (`member_anonymise`), with `member_id`:
# receivers erase what they keep of the member's contact details (messages' recipients and texts)
# in that same transaction, so the anonymisation is all or nothing. Not robust on purpose: a
# receiver's failure rolls the anonymisation back.
member_anonymising = Signal()
