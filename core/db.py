"""Bulk SQL for any app's hot writes: rows inserted by one statement (INSERT ... VALUES ...
RETURNING) or, from `COPY_FROM_ROWS` rows, by COPY; JSON encoded alike on both paths (Decimal,
datetime... as Django encodes them). The ledger's and the events' writes use them."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import CharField, Field, JSONField, Model
from psycopg.types.json import Jsonb

# From this many rows, `values_insert` draws the ids first and COPYs the rows.
COPY_FROM_ROWS = 50


def row_insert(row: Model) -> None:
    """Insert a new model instance whose id is set already (drawn beforehand)."""
    with connection.cursor() as cursor:
        cursor.execute(*row_insert_sql(row))
    row._state.adding = False


def row_insert_sql(row: Model) -> tuple[str, list]:
    """The INSERT of a new model instance whose id is set already."""
    if row.pk is None:
        raise ValueError(f"a {type(row).__name__} to insert needs its id set")
    fields = [row._meta.pk, *insert_fields(type(row))]
    values = {field.attname: field.pre_save(row, add=True) for field in fields}  # auto_now_add set too
    params = insert_params(fields, values)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(row._meta.db_table)} ({columns}) VALUES ({placeholders})", params  # noqa: S608


def insert_params(fields: list[Field], row: dict) -> list:
    """A row's values as statement parameters, JSON encoded as the COPY path encodes it (Decimal,
    datetime... as Django does)."""
    return [
        Jsonb(row[field.attname], dumps=_json_dumps) if isinstance(field, JSONField) else row[field.attname]
        for field in fields
    ]


def cast_types(fields: list[Field]) -> list[str]:
    """The types to cast placeholders to where PostgreSQL cannot take them from the target table (a
    VALUES list in FROM). Text, not varchar(n): an explicit cast would cut a long value, the INSERT
    refuses it."""
    return [_cast_type(field) for field in fields]


def _cast_type(field: Field) -> str:
    if isinstance(field, CharField):
        return "text"
    db_type = field.db_type(connection)
    if db_type is None:  # no column: a many-to-many field, never among the inserted
        raise ValueError(f"{field} has no column")
    return db_type


def _json_dumps(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


def rows_insert(rows: list[Model]) -> None:
    """Insert model instances of one model (`values_insert`), setting their ids."""
    if not rows:
        return
    fields = insert_fields(type(rows[0]))
    values = [
        {field.attname: field.pre_save(row, add=True) for field in fields}  # auto_now_add set too
        for row in rows
    ]
    for row, pk in zip(rows, values_insert(type(rows[0]), values), strict=True):
        row.pk = pk
        row._state.adding = False


def values_insert(model: type[Model], rows: list[dict]) -> list[int]:
    """Insert rows of `model`, given as {attname: value} with every column but the id; returns their
    ids, in order (the ledger's and the events' writes).

    Not `bulk_create`, nor model instances: on PostgreSQL bulk_create sends each column as an array
    (UNNEST), and psycopg escapes JSON text inside arrays in Python, a regex per quote; building
    instances cost as much as the rest of a batch of events. A few rows go as one INSERT ... VALUES
    ... RETURNING; many (a batch of events) by COPY, their ids drawn from the sequence first: a
    statement with tens of thousands of parameters cost more to build than to run, and PostgreSQL
    takes at most 65,535 parameters in one."""
    if not rows:
        return []
    meta = model._meta
    fields = insert_fields(model)
    table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    json_columns = [field.attname for field in fields if isinstance(field, JSONField)]
    with connection.cursor() as cursor:
        if len(rows) < COPY_FROM_ROWS:
            params = [param for row in rows for param in insert_params(fields, row)]
            values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING {pk}",  # noqa: S608
                params,
            )
            return [pk_value for (pk_value,) in cursor.fetchall()]
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [pk_value for (pk_value,) in cursor.fetchall()]
        attnames = [field.attname for field in fields]
        with cursor.cursor.copy(f"COPY {table} ({pk}, {columns}) FROM STDIN") as copy:
            for pk_value, row in zip(ids, rows, strict=True):
                for attname in json_columns:  # as JSON text
                    row = {**row, attname: _json_dumps(row[attname])}
                copy.write_row((pk_value, *(row[attname] for attname in attnames)))
        return ids


def insert_fields(model: type[Model]) -> list[Field]:
    """The model's columns but its id, in the order the helpers here write them."""
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def connection_renew() -> bool:
    """End this thread's database connection, its PostgreSQL backend with it (a pooled connection
    is closed, not given back), so the next query starts on a fresh backend. Whether it was ended:
    never inside a transaction (`atomic`), which the connection must finish first.

    A backend keeps in its catalog caches every relation it has touched. Cloning a brand's schema
    touches some 600 (tables, indexes, sequences, TOAST), and the clone's catalog lookups grow
    slower with each schema the backend cached: on one connection the 30th `brand_create` took
    7.4 s against 1.1 s for the first, and 1.2 s with the connection renewed after each (README
    "Brand creation")."""
    if connection.in_atomic_block:
        return False
    if connection.connection is not None:
        connection.connection.close()  # a closed connection given back to its pool is discarded
    connection.close()
    return True
