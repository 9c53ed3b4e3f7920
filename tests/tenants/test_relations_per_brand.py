"""What one brand costs the catalog: every brand has a schema of its own, so every table, index and
sequence of a brand schema is a row of pg_class a thousand times over. No index there repeats what
a longer one already serves, and the count of a brand's relations stays under a measured bound."""

from __future__ import annotations

from django.apps import apps
from django.db import connection

from tenants.services import template_schema_name

# pg_class rows of one brand schema, measured when the covered indexes were dropped: 104 tables,
# 380 indexes and 96 sequences in the schema (609 before), plus 61 TOAST tables and their 61 indexes.
# A change that adds relations raises these on purpose, after asking whether each one is needed.
SCHEMA_RELATIONS_MAX = 580
TOAST_RELATIONS_MAX = 122

# A plain single-column index (no predicate, no expression, no INCLUDE, not unique, backing no
# constraint) whose column leads another full index of the same table with the same operator
# class and collation: the other index serves every lookup it does. Two identical plain ones: the
# younger is the needless one.
COVERED_INDEXES = """
    SELECT t.relname, a.attname, si.relname, li.relname
    FROM pg_index s
    JOIN pg_class si ON si.oid = s.indexrelid
    JOIN pg_class t ON t.oid = s.indrelid
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = s.indkey[0]
    JOIN pg_index l ON l.indrelid = s.indrelid AND l.indexrelid <> s.indexrelid
    JOIN pg_class li ON li.oid = l.indexrelid
    WHERE t.relnamespace = %(ns)s::regnamespace
      AND s.indnatts = 1 AND s.indkey[0] <> 0 AND NOT s.indisunique AND NOT s.indisprimary
      AND s.indpred IS NULL AND s.indexprs IS NULL
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
      AND l.indpred IS NULL AND l.indexprs IS NULL AND l.indisvalid
      AND l.indkey[0] = s.indkey[0] AND l.indclass[0] = s.indclass[0]
      AND l.indcollation[0] = s.indcollation[0]
      AND (l.indnatts > 1 OR l.indisunique OR l.indexrelid < s.indexrelid)
      AND t.relname NOT LIKE 'auth\\_%%' AND NOT (t.relname = ANY(%(skipped)s))
    ORDER BY 1, 2, 3, 4"""

SCHEMA_RELATIONS = """
    SELECT relkind, count(*) FROM pg_class WHERE relnamespace = %(ns)s::regnamespace GROUP BY relkind"""

# The TOAST tables of the schema's tables, and their indexes (they live in pg_toast, one per table).
TOAST_RELATIONS = """
    SELECT count(*) + count(ti.indexrelid) FROM pg_class c
    JOIN pg_class toast ON toast.oid = c.reltoastrelid
    LEFT JOIN pg_index ti ON ti.indrelid = toast.oid
    WHERE c.relnamespace = %(ns)s::regnamespace"""


def _auto_many_to_many_tables() -> list[str]:
    """The tables Django makes for a ManyToManyField without a `through` model: their (a, b) unique
    constraint and (a) index are Django's, and no field option drops the index."""
    tables = set()
    for model in apps.get_models():
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through is not None and through._meta.auto_created:
                tables.add(through._meta.db_table)
    return sorted(tables)


def _covered_indexes(*, schema: str) -> list[tuple[str, str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(COVERED_INDEXES, {"ns": schema, "skipped": _auto_many_to_many_tables()})
        return cursor.fetchall()


def _described(rows: list[tuple[str, str, str, str]]) -> str:
    return "\n".join(
        f"{table}.{column}: {index} is covered by {covering}" for table, column, index, covering in rows
    )


def test_no_index_of_the_template_repeats_a_longer_one(db):
    """A model whose ForeignKey (or db_index field) leads a composite index or unique constraint
    declares `db_index=False`; a new one that does not fails here with the index's name."""
    assert "catalog_gift_tiers" in _auto_many_to_many_tables()
    found = _covered_indexes(schema=template_schema_name())
    assert found == [], "needless indexes (set db_index=False on the field):\n" + _described(found)


def test_the_covered_index_query_finds_what_it_is_meant_to(db):
    """The query on a schema made for it (rolled back with the test's transaction): it names the
    single-column index a composite or unique one leads with, a duplicate, and nothing else."""
    schema = "covered_index_probe"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE SCHEMA {schema};
            CREATE TABLE {schema}.item (a integer, b integer, c varchar(20), d integer, e integer);
            CREATE INDEX item_a ON {schema}.item (a);
            CREATE INDEX item_a_b ON {schema}.item (a, b);
            CREATE INDEX item_b ON {schema}.item (b);
            CREATE INDEX item_b_partial ON {schema}.item (b, a) WHERE a > 0;
            CREATE INDEX item_b_expression ON {schema}.item ((b + 1), a);
            CREATE INDEX item_c ON {schema}.item (c);
            CREATE INDEX item_c_like ON {schema}.item (c varchar_pattern_ops, a);
            CREATE INDEX item_d ON {schema}.item (d);
            CREATE UNIQUE INDEX item_d_unique ON {schema}.item (d, e);
            CREATE INDEX item_e ON {schema}.item (e);
            CREATE INDEX item_e_again ON {schema}.item (e);
            CREATE TABLE {schema}.auth_thing (a integer, b integer);
            CREATE INDEX auth_thing_a ON {schema}.auth_thing (a);
            CREATE INDEX auth_thing_a_b ON {schema}.auth_thing (a, b);
            """
        )
    assert _covered_indexes(schema=schema) == [
        ("item", "a", "item_a", "item_a_b"),
        ("item", "d", "item_d", "item_d_unique"),
        ("item", "e", "item_e_again", "item_e"),
    ]


def test_a_brand_schema_holds_at_most_the_measured_relations(db, brand_a):
    """Tables, indexes and sequences of a brand schema (a copy of the template), and its TOAST
    relations: each is a pg_class row per brand, so 1,000 brands hold a thousand times these."""
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA_RELATIONS, {"ns": brand_a.schema_name})
        kinds = dict(cursor.fetchall())
        cursor.execute(TOAST_RELATIONS, {"ns": brand_a.schema_name})
        (toast,) = cursor.fetchone()
    in_schema = sum(kinds.values())
    figures = (
        f"{in_schema} relations in the schema ({kinds.get('r', 0)} tables, {kinds.get('i', 0)} indexes, "
        f"{kinds.get('S', 0)} sequences), {toast} TOAST relations"
    )
    print(f"\nper brand: {figures}, {in_schema + toast} pg_class rows")
    assert kinds.get("r", 0) > 100, figures
    assert in_schema <= SCHEMA_RELATIONS_MAX, figures
    assert toast <= TOAST_RELATIONS_MAX, figures
