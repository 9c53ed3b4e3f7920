"""The bulk SQL helpers (`core.db`) on the real PostgreSQL, on a table of the test's own made in
brand A's schema (rolled back with the test): ids returned in order on both paths (a few rows by
INSERT ... RETURNING, `COPY_FROM_ROWS` and more by COPY), JSON encoded alike on both, a NUL refused
on both, no statement for no rows; placeholders cast so that a long text is refused, not cut."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from django.db import DataError, connection, models, transaction
from django.test.utils import CaptureQueriesContext, isolate_apps

from core.db import (
    COPY_FROM_ROWS,
    cast_types,
    insert_fields,
    insert_params,
    row_insert,
    row_insert_sql,
    rows_insert,
    values_insert,
)

AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
ROW_COUNTS = [1, COPY_FROM_ROWS - 1, COPY_FROM_ROWS, COPY_FROM_ROWS + 25]


@pytest.fixture
def table(db, brand_a):
    """A model of the test's own (outside the app registry) and its table in brand A's schema."""
    connection.set_tenant(brand_a)
    with isolate_apps("core"):

        class Note(models.Model):
            label = models.CharField(max_length=20)
            data = models.JSONField(null=True)
            created_at = models.DateTimeField(auto_now_add=True)

            class Meta:
                app_label = "core"
                db_table = "core_test_db_note"

        with connection.schema_editor() as editor:
            editor.create_model(Note)
        yield Note


def _stored(model) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, label, data FROM {model._meta.db_table} ORDER BY id")
        return [(pk, label, json.loads(data) if data is not None else None) for pk, label, data in cursor]


@pytest.mark.parametrize("count", ROW_COUNTS)
def test_values_insert_returns_the_ids_in_order_on_both_paths(table, count):
    rows = [{"label": f"n{i}", "data": {"i": i}, "created_at": AT} for i in range(count)]

    ids = values_insert(table, rows)

    assert len(ids) == count == len(set(ids))
    expected = [(pk, row["label"], row["data"]) for pk, row in zip(ids, rows, strict=True)]
    assert _stored(table) == expected


@pytest.mark.parametrize("count", [1, COPY_FROM_ROWS])
def test_json_is_encoded_alike_on_both_paths(table, count):
    data = {"amount": Decimal("12.50"), "at": AT, "text": 'quote " and \\ and é', "list": [1, None, True]}

    values_insert(table, [{"label": "x", "data": data, "created_at": AT}] * count)

    expected = {
        "amount": "12.50",
        "at": "2026-03-01T12:30:00Z",
        "text": data["text"],
        "list": [1, None, True],
    }
    assert [stored for _, _, stored in _stored(table)] == [expected] * count


@pytest.mark.parametrize("count", [1, COPY_FROM_ROWS])
@pytest.mark.parametrize("where", ["label", "data"])
def test_a_nul_is_refused_on_both_paths(table, count, where):
    """Refused by psycopg (text) or PostgreSQL (JSON), unwrapped by Django on the COPY path: callers
    refuse NULs in their input first (`core.text`)."""
    row = {"label": "x", "data": {"text": "a"}, "created_at": AT}
    row = {**row, "label": "a\x00b"} if where == "label" else {**row, "data": {"text": "a\x00b"}}

    with pytest.raises((DataError, psycopg.DataError)), transaction.atomic():
        values_insert(table, [row] * count)

    assert _stored(table) == []


def test_no_rows_send_no_statement(table):
    with CaptureQueriesContext(connection) as queries:
        assert values_insert(table, []) == []
        rows_insert([])
    assert len(queries) == 0


@pytest.mark.parametrize("count", [2, COPY_FROM_ROWS])
def test_rows_insert_sets_the_ids_and_auto_now_add(table, count):
    notes = [table(label=f"n{i}", data=[i]) for i in range(count)]

    rows_insert(notes)

    assert [note.pk for note in notes] == [pk for pk, _, _ in _stored(table)]
    assert all(not note._state.adding and note.created_at is not None for note in notes)
    assert table.objects.get(pk=notes[-1].pk).data == [count - 1]


def test_row_insert_writes_a_row_whose_id_is_drawn_beforehand(table):
    note = table(id=41, label="given", data={"a": 1})

    row_insert(note)

    assert _stored(table) == [(41, "given", {"a": 1})]
    assert not note._state.adding and note.created_at is not None
    with pytest.raises(ValueError, match="needs its id set"):
        row_insert_sql(table(label="no id"))


def _insert_from_values(model, row: dict) -> None:
    """An INSERT ... SELECT from a VALUES list, its placeholders cast by `cast_types`."""
    fields = insert_fields(model)
    columns = ", ".join(field.column for field in fields)
    placeholders = ", ".join(f"%s::{db_type}" for db_type in cast_types(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({columns}) SELECT * FROM (VALUES ({placeholders})) AS v",
            insert_params(fields, row),
        )


def test_cast_types_keep_a_long_text_whole_so_the_insert_refuses_it(table):
    assert cast_types(insert_fields(table)) == ["text", "jsonb", "timestamp with time zone"]
    _insert_from_values(table, {"label": "x" * 20, "data": {"a": 1}, "created_at": AT})

    with pytest.raises(DataError, match="too long"), transaction.atomic():
        _insert_from_values(table, {"label": "x" * 21, "data": None, "created_at": AT})

    assert [(label, data) for _, label, data in _stored(table)] == [("x" * 20, {"a": 1})]
