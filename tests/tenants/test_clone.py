"""A brand's schema is a copy of the template's made from the template's catalog (tenants/clone.py):
object for object the same, rows and sequences included, in the brand's own schema."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from core.errors import InvalidInput
from tenants.clone import schema_copy
from tenants.services import template_schema_name


def _signature(schema: str) -> dict[str, list]:
    """What a schema is made of, its own name left out."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT oid, quote_ident(nspname) FROM pg_namespace WHERE nspname = %s", [schema])
        oid, quoted = cursor.fetchone()
        cursor.execute("SELECT set_config('search_path', %s, true)", [quoted])
        signature = {}
        for part, query in _SIGNATURE.items():
            cursor.execute(query, {"ns": oid, "schema": schema})
            signature[part] = [
                tuple(_canonical(str(value).replace(f" {quoted}.", " <schema>.")) for value in row)
                for row in cursor.fetchall()
            ]
    connection.search_path_set_schemas = None
    return signature


def _canonical(definition: str) -> str:
    """A partial index's predicate made again from its definition's text is the same condition but
    may print otherwise (`ANY ((ARRAY['a'::varchar])::text[])` against `ANY (ARRAY[('a'::varchar)::text])`):
    compared without parentheses and casts."""
    if " WHERE " not in definition:
        return definition
    head, predicate = definition.split(" WHERE ", 1)
    bare = _CASTS.sub("", predicate).replace("(", "").replace(")", "")
    return f"{head} WHERE {bare}"


_CASTS = re.compile(r"::[a-z ]+(\[\])?")


_SIGNATURE = {
    "relations": """
        SELECT relname, relkind, relpersistence, reloptions, obj_description(oid, 'pg_class') FROM pg_class
        WHERE relnamespace = %(ns)s ORDER BY 1""",
    "columns": """
        SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
               pg_get_expr(d.adbin, d.adrelid), a.attstorage, a.attcompression, a.attcollation,
               col_description(c.oid, a.attnum)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(ns)s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2""",
    "constraints": """
        SELECT t.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred
        FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
        WHERE k.connamespace = %(ns)s ORDER BY 1, 2""",
    "indexes": """
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = %(ns)s ORDER BY 1""",
    "triggers": """
        SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal ORDER BY 1, 2""",
    "functions": """
        SELECT proname, pg_get_function_arguments(oid), md5(prosrc) FROM pg_proc
        WHERE pronamespace = %(ns)s ORDER BY 1""",
    "sequences": """
        SELECT sequencename, data_type, start_value, increment_by, max_value, cache_size, last_value
        FROM pg_sequences WHERE schemaname = %(schema)s ORDER BY 1""",
}


def _rows(schema: str, table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')
        return cursor.fetchall()


def _tables_with_rows(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'", [schema]
        )
        tables = [name for (name,) in cursor.fetchall()]
    return sorted(table for table in tables if _rows(schema, table))


def test_a_brand_schema_is_the_template_object_for_object_rows_included(fresh_brand):
    template, brand = template_schema_name(), fresh_brand.schema_name
    copied, original = _signature(brand), _signature(template)
    # Where the sequences stand aside (brand_create adds its admin's rows), every object the same.
    for signature in (copied, original):
        signature["sequences"] = [row[:-1] for row in signature["sequences"]]
    assert copied == original
    with_rows = _tables_with_rows(template)
    assert {"django_content_type", "auth_permission", "loyalty_programmesettings"} <= set(with_rows)
    # What brand_create writes itself: its admin, the programme's language (and so its revision).
    own = {"auth_user", "core_staffprofile", "loyalty_programmesettings", "loyalty_programmerevision"}
    for table in with_rows:
        if table not in own:
            assert _rows(brand, table) == _rows(template, table), table


# A template with one of each kind of object the copy makes.
_SCRATCH = """
CREATE TABLE {s}.club (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, code varchar(20) NOT NULL,
    points integer NOT NULL DEFAULT 0 CHECK (points >= 0),
    doubled integer GENERATED ALWAYS AS (points * 2) STORED,
    CONSTRAINT club_code_unique UNIQUE (code));
COMMENT ON COLUMN {s}.club.code IS 'the club''s code';
CREATE TABLE {s}.visit (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    club_id bigint NOT NULL CONSTRAINT visit_club_fk REFERENCES {s}.club (id) DEFERRABLE INITIALLY DEFERRED,
    state varchar(10) NOT NULL, stamp bigint);
CREATE UNIQUE INDEX visit_one_open ON {s}.visit (club_id) WHERE state IN ('open', 'held');
CREATE INDEX visit_state_lower ON {s}.visit (lower(state));
CREATE SEQUENCE {s}.stamp_seq START WITH 100;
CREATE SEQUENCE {s}.owned_seq OWNED BY {s}.visit.stamp;
CREATE FUNCTION {s}.visit_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.stamp := nextval(quote_ident(TG_TABLE_SCHEMA) || '.stamp_seq'); RETURN NEW; END $$;
CREATE TRIGGER visit_stamped BEFORE INSERT ON {s}.visit FOR EACH ROW EXECUTE FUNCTION {s}.visit_stamp();
CREATE TABLE {s}.django_migrations (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, app text, name text);
INSERT INTO {s}.club (code, points) VALUES ('north', 5), ('south', 7);
INSERT INTO {s}.visit (club_id, state) VALUES (1, 'open'), (2, 'closed');
SELECT setval('{s}.owned_seq', 41);
"""


@pytest.fixture
def scratch(db):
    """A template schema of its own (inside the test's transaction, gone with it)."""
    name = f"zz_template_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {name}")
        cursor.execute(_SCRATCH.format(s=name))
    return name


def test_a_copy_makes_each_kind_of_object_in_its_own_schema(scratch):
    copy = f"{scratch}_copy"
    schema_copy(template=scratch, target=copy)
    assert _signature(copy) == _signature(scratch)
    assert _rows(copy, "club") == _rows(scratch, "club") == [(1, "north", 5, 10), (2, "south", 7, 14)]
    with connection.cursor() as cursor:
        # The identity and the trigger's sequence go on from where the template's stand, in the copy.
        cursor.execute(f"INSERT INTO {copy}.visit (club_id, state) VALUES (2, 'held') RETURNING id, stamp")
        assert cursor.fetchone() == (3, 102)
        cursor.execute(f"SELECT last_value FROM {scratch}.stamp_seq")
        assert cursor.fetchone() == (101,)
        cursor.execute(f"SELECT nextval('{copy}.owned_seq')")
        assert cursor.fetchone() == (42,)
        # The copy's constraints hold on the copy's rows: the partial unique index, the foreign key
        # (to the copy's clubs: the template has no club 3 either, but the copy gets its own club 3).
        with pytest.raises(DatabaseError, match="visit_one_open"), transaction.atomic():
            cursor.execute(f"INSERT INTO {copy}.visit (club_id, state) VALUES (1, 'open')")
        cursor.execute(f"INSERT INTO {copy}.club (code) VALUES ('east') RETURNING id")
        assert cursor.fetchone() == (3,)
        cursor.execute(f"INSERT INTO {copy}.visit (club_id, state) VALUES (3, 'open')")
        with pytest.raises(DatabaseError, match="visit_club_fk"), transaction.atomic():
            cursor.execute(f"INSERT INTO {scratch}.visit (club_id, state) VALUES (3, 'open')")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_template_holding_what_the_copy_cannot_make_is_refused_and_nothing_is_made(scratch):
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE VIEW {scratch}.open_visits AS SELECT * FROM {scratch}.visit WHERE state = 'open'"
        )
    with pytest.raises(InvalidInput, match="1 relation of kind v") as refused:
        schema_copy(template=scratch, target=f"{scratch}_copy")
    assert refused.value.field == "template"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regnamespace(%s)", [f"{scratch}_copy"])
        assert cursor.fetchone() == (None,)


def test_a_missing_template_is_one_error_naming_it(db):
    with pytest.raises(InvalidInput, match="the template schema 'zz_nowhere' does not exist"):
        schema_copy(template="zz_nowhere", target="zz_nowhere_copy")


def test_the_copy_follows_the_template_once_it_has_migrated(scratch):
    schema_copy(template=scratch, target=f"{scratch}_first")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {scratch}.badge (id bigint PRIMARY KEY)")
        cursor.execute(f"INSERT INTO {scratch}.django_migrations (app, name) VALUES ('clubs', '0002_badge')")
    schema_copy(template=scratch, target=f"{scratch}_second")
    assert _signature(f"{scratch}_second") == _signature(scratch) != _signature(f"{scratch}_first")
