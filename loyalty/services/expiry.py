"""Nightly expiry: what is left of lots past their expiry date becomes `expire` ledger entries.

Set-based SQL, by batches of members, one transaction each. Lock order is the ledger's: the
members' rows first (in id order), then their lots, exactly like `points_debit`, so expiry and
concurrent redemptions queue behind each other instead of deadlocking. Per member and run: one
`expire` entry, one `LotConsumption` per lot, the lot emptied, the cached balance lowered by the
same amount; `points_changed` is sent with the batch's entries after its commit. Both invariants
hold (balance == sum of entries; open lots - points owed == balance), and running it again finds
nothing more to expire.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from loyalty.models import LedgerEntry
from loyalty.services.ledger import EntryCause, Sql, entries_insert_select, entry_values, points_change
from loyalty.signals import changes_send, points_changed

BATCH_MEMBERS = 5_000

DUE_MEMBERS = """
    SELECT DISTINCT member_id FROM loyalty_pointlot
    WHERE remaining > 0 AND expires_at <= %(at)s AND member_id > %(after)s
    ORDER BY member_id
    LIMIT %(limit)s
"""

# For the nightly batches: compiling a plan (JIT) costs more than running it, and their aggregates
# fit in memory instead of spilling to disk.
BATCH_SETTINGS = "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'"

LOCK_MEMBERS = "SELECT id FROM loyalty_member WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE"

# One `expire` entry per member, built by the ledger's entry builder from each row of `members`.
_ENTRIES_SQL, _ENTRIES_PARAMS = entries_insert_select(
    entry_values(
        member_id=Sql("id"),
        kind=LedgerEntry.Kind.EXPIRE,
        points=Sql("-points"),
        balance_after=Sql("balance"),
        at=Sql("%(at)s"),
        cause=EntryCause(
            source="expiry",
            explanation=Sql("jsonb_build_object('why', 'points past their expiry date', 'lots', lots)"),
        ),
    ),
    source="members",
)

EXPIRE = f"""
    WITH due AS (
        SELECT id, member_id, remaining FROM loyalty_pointlot
        WHERE member_id = ANY(%(ids)s) AND remaining > 0 AND expires_at <= %(at)s
        ORDER BY id
        FOR UPDATE
    ),
    per_member AS (
        SELECT member_id, SUM(remaining) AS points, COUNT(*) AS lots FROM due GROUP BY member_id
    ),
    members AS (
        UPDATE loyalty_member m SET balance = m.balance - p.points, updated_at = %(at)s
        FROM per_member p
        WHERE m.id = p.member_id
        RETURNING m.id, m.balance, p.points, p.lots
    ),
    entries AS ({_ENTRIES_SQL} RETURNING id, member_id, kind, points, balance_after, event_id),
    consumed AS (
        INSERT INTO loyalty_lotconsumption (entry_id, lot_id, points)
        SELECT e.id, d.id, d.remaining FROM due d JOIN entries e ON e.member_id = d.member_id
    ),
    emptied AS (
        UPDATE loyalty_pointlot l SET remaining = 0 FROM due d WHERE l.id = d.id
    )
    SELECT id, member_id, kind, points, balance_after, event_id FROM entries
"""  # noqa: S608 (names and placeholders only)


def points_expire_due(*, at: datetime) -> int:
    """Expire every lot whose expiry date is at or before `at`; returns the points expired."""
    expired = 0
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(DUE_MEMBERS, {"at": at, "after": after, "limit": BATCH_MEMBERS})
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return expired
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BATCH_SETTINGS)
            cursor.execute(LOCK_MEMBERS, {"ids": ids})
            cursor.execute(EXPIRE, {**_ENTRIES_PARAMS, "ids": ids, "at": at})
            columns = [column.name for column in cursor.description]
            entries = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            expired -= sum(entry["points"] for entry in entries)
            changes_send(points_changed, map(points_change, entries))
        after = ids[-1]
