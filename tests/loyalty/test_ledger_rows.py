"""One builder of a ledger entry's row (`ledger.entry_values`): every column of `LedgerEntry` is set
by it, and every path writing entries (the ORM, the multi-row INSERT, COPY, the nightly expiry's
statement) writes exactly the row it builds. A path building its own row fails here."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from core.db import COPY_FROM_ROWS, insert_fields
from loyalty.models import LedgerEntry, Member
from loyalty.selectors.programme import programme_settings
from loyalty.services.expiry import points_expire_due
from loyalty.services.ledger import (
    Credit,
    EntryCause,
    entry_values,
    member_lock,
    points_credit,
    points_credit_many,
    points_debit,
)
from tests.factories import credit_make, member_make


def _cause(key: str, *, staff_user_id: int, reverses_id: int | None = None) -> EntryCause:
    """A cause setting every column an entry may have."""
    return EntryCause(
        staff_user_id=staff_user_id,
        reason=f"reason of {key}",
        source=f"source:{key}",
        explanation={"key": key, "amount": "12.50", "nested": {"list": [1, 2]}},
        idempotency_key=key,
        reverses_id=reverses_id,
    )


def _row(entry_id: int) -> dict:
    """The entry's stored columns, every one but the id."""
    attnames = [field.attname for field in insert_fields(LedgerEntry)]
    return LedgerEntry.objects.filter(pk=entry_id).values(*attnames).get()


def test_the_builder_sets_every_column_of_an_entry_but_its_id():
    built = entry_values(
        member_id=1, kind="earn", points=1, balance_after=1, at=timezone.now(), cause=EntryCause()
    )
    assert set(built) == {field.attname for field in insert_fields(LedgerEntry)}


def test_every_writing_path_writes_the_row_the_builder_builds(db, brand_a):
    connection.set_tenant(brand_a)
    staff = get_user_model().objects.create_user(username="rows@alpha.example", password="x")
    member = member_make("rows-1")
    first = credit_make(member, 10)
    at = timezone.now()
    written: list[tuple[int, dict]] = []  # (entry id, the row the builder gives for it)

    def expected(
        entry: LedgerEntry | int, *, kind: str, points: int, balance: int, cause: EntryCause
    ) -> None:
        entry_id = entry if isinstance(entry, int) else entry.pk
        built = entry_values(
            member_id=member.pk, kind=kind, points=points, balance_after=balance, at=at, cause=cause
        )
        written.append((entry_id, built))

    with transaction.atomic():
        # A single credit: the multi-row INSERT ... VALUES statement.
        cause = _cause("one-credit", staff_user_id=staff.pk, reverses_id=first.pk)
        locked = member_lock(member_id=member.pk)
        entry = points_credit(member=locked, points=5, kind="adjust", cause=cause, at=at)
        expected(entry, kind="adjust", points=5, balance=15, cause=cause)
        # A debit: the ORM's save.
        cause = _cause("a-debit", staff_user_id=staff.pk, reverses_id=first.pk)
        entry = points_debit(member=locked, points=3, kind="adjust", cause=cause, at=at)
        assert entry is not None
        expected(entry, kind="adjust", points=-3, balance=12, cause=cause)
        # Many credits at once: COPY.
        causes = [_cause(f"many-{index}", staff_user_id=staff.pk) for index in range(COPY_FROM_ROWS)]
        ids = points_credit_many(
            credits=[Credit(member=locked, points=1, cause=cause) for cause in causes],
            kind="adjust",
            at=at,
            programme=programme_settings(),
        )
        for index, (entry_id, cause) in enumerate(zip(ids, causes, strict=True)):
            expected(entry_id, kind="adjust", points=1, balance=13 + index, cause=cause)
    balance = 12 + COPY_FROM_ROWS
    # The nightly expiry's statement: what is left of a lot past its expiry.
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        points_credit(
            member=locked,
            points=7,
            kind="adjust",
            cause=EntryCause(reason="to expire"),
            at=at - timedelta(days=2),
            expires_at=at - timedelta(days=1),
        )
    assert points_expire_due(at=at) == 7
    expiry = LedgerEntry.objects.get(member=member, kind=LedgerEntry.Kind.EXPIRE)
    explanation = {"why": "points past their expiry date", "lots": 1}
    expected(
        expiry,
        kind="expire",
        points=-7,
        balance=balance,
        cause=EntryCause(source="expiry", explanation=explanation),
    )

    for entry_id, built in written:
        assert _row(entry_id) == built, built["idempotency_key"] or built["source"]
    assert Member.objects.get(pk=member.pk).balance == balance
