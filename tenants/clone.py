"""A brand's schema made as a copy of the template's, in time that does not grow with the brands.

django-tenants' clone function (`clone_schema`, 4,600 lines of PL/pgSQL) reads `information_schema`
for every table it copies, and some of its checks read every table of every schema: with 100
brands a clone took 0.99 s against 0.50 s for the first, and it kept growing with each brand
(README "Brand creation"). Here the template's catalog entries are read once per process and per
template version (`schema_copy_plan`: a few queries on the template's namespace alone), turned into
plain DDL, and each clone runs that DDL in one round trip:

1. the template's functions and standalone sequences;
2. each table `LIKE` the template's (columns, identities, NOT NULL and CHECK constraints, storage,
   compression, statistics), then its rows copied (the template's data: content types,
   permissions, the programme's first settings...) and its sequences set where the template's are;
3. primary keys, unique and exclusion constraints, indexes, foreign keys and triggers, each under
   the template's name (a migration that later drops or alters one by name finds it).

The statements are generated with the search_path on the template alone, so names of the
template's objects come out unqualified and resolve in the new schema; what lives elsewhere
(`public`, `pg_catalog`) comes out qualified and stays shared. A template holding a kind of object
this does not copy (a view, a type, a policy, a rule...) is refused rather than half copied.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db import connection, transaction

from core.errors import InvalidInput

# The template's relations: its tables and sequences depend on its namespace (pg_depend's index on
# the referenced object). Not `pg_class.relnamespace`, which no index leads: with 1,000 brands each
# query that filtered on it read 700,000 rows of pg_class, and a process's first copy took 0.8 s
# to read its plan.
_RELATIONS = """
WITH relation AS (
    SELECT c.oid, c.relname, c.relkind FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_namespace'::regclass
      AND d.refobjid = %(ns)s AND d.deptype = 'n'
), tables AS (SELECT oid, relname FROM relation WHERE relkind = 'r')
"""

# Objects of the template that the copy does not handle: their count, each must be zero.
_UNHANDLED = (
    _RELATIONS  # noqa: S608 (constants)
    + """
SELECT 'relation of kind ' || relkind::text, count(*) FROM relation WHERE relkind NOT IN ('r', 'S')
GROUP BY relkind
UNION ALL SELECT 'type', count(*) FROM pg_depend d
WHERE d.classid = 'pg_type'::regclass AND d.refclassid = 'pg_namespace'::regclass AND d.refobjid = %(ns)s
HAVING count(*) > 0
UNION ALL SELECT 'policy', count(*) FROM pg_policy p JOIN tables t ON t.oid = p.polrelid HAVING count(*) > 0
UNION ALL SELECT 'rule', count(*) FROM pg_rewrite r JOIN tables t ON t.oid = r.ev_class HAVING count(*) > 0
UNION ALL SELECT 'constraint trigger', count(*) FROM pg_constraint k JOIN tables t ON t.oid = k.conrelid
WHERE k.contype = 't' HAVING count(*) > 0
"""
)

_TABLES = _RELATIONS + "SELECT oid, relname FROM tables ORDER BY relname"  # noqa: S608 (constants)

_FUNCTIONS = (
    "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = %(ns)s ORDER BY p.proname"
)

# Every sequence, with the column that owns it if any: an identity's (deptype 'i', made again by
# ADD GENERATED under the same name) or one OWNED BY a column ('a'); and where it stands (NULL
# before its first value).
_SEQUENCES = (
    _RELATIONS
    + """
SELECT c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
       s.seqcycle, owner.relname, a.attname, d.deptype, a.attidentity, pg_sequence_last_value(c.oid)
FROM relation c JOIN pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class owner ON owner.oid = d.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE c.relkind = 'S'
ORDER BY c.relname
"""
)

# Constraints the LIKE does not copy: primary keys, unique and exclusion first, foreign keys last.
_CONSTRAINTS = (
    _RELATIONS
    + """
SELECT t.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
FROM tables t JOIN pg_constraint k ON k.conrelid = t.oid
WHERE k.contype IN ('p', 'u', 'x', 'f')
ORDER BY k.contype = 'f', t.relname, k.conname
"""
)

# Indexes that no constraint made.
_INDEXES = (
    _RELATIONS
    + """
SELECT quote_ident(t.relname), pg_get_indexdef(i.indexrelid)
FROM tables t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class c ON c.oid = i.indexrelid
WHERE NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid)
ORDER BY c.relname
"""
)

_TRIGGERS = (
    _RELATIONS
    + """
SELECT quote_ident(t.relname), pg_get_triggerdef(g.oid)
FROM tables t JOIN pg_trigger g ON g.tgrelid = t.oid
WHERE NOT g.tgisinternal
ORDER BY t.relname, g.tgname
"""
)

# Not INCLUDING IDENTITY: the identities are added after, with the template's sequence names and types.
_LIKE = (
    "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE "
    "INCLUDING COMPRESSION INCLUDING STATISTICS INCLUDING COMMENTS"
)


@dataclass(frozen=True)
class SchemaCopyPlan:
    """The DDL that makes a copy of `template` in the schema on the search_path: `structure` (run
    before the rows are copied), `rows` (the INSERTs of the template's data, naming the template
    schema), `values` (the sequences set as the template's), `constraints` (after the rows)."""

    version: tuple
    structure: tuple[str, ...]
    rows: tuple[str, ...]
    values: str
    constraints: tuple[str, ...]

    def script(self) -> str:
        statements = [
            *self.structure,
            *self.rows,
            *((self.values,) if self.values else ()),
            *self.constraints,
        ]
        return ";\n".join(statements) + ";"


_plans: dict[str, SchemaCopyPlan] = {}
_plans_lock = threading.Lock()


def schema_copy(*, template: str, target: str) -> None:
    """Create schema `target` as a copy of `template`, structure and rows, in one transaction (the
    caller's if it has one): a failure leaves nothing."""
    plan = schema_copy_plan(template=template)
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote(target)}")
        # The plan's names resolve in the new schema (SET LOCAL: until the transaction ends).
        cursor.execute("SELECT set_config('search_path', %s, true)", [f"{quote(target)}, public"])
        cursor.execute(plan.script())
    search_path_forget()


def schema_version(*, schema: str) -> tuple | None:
    """How many migrations `schema` has applied and the last one's id; None without its migrations
    table (no such schema)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{quote(schema)}.django_migrations"])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT count(*), max(id) FROM {quote(schema)}.django_migrations")  # noqa: S608
        return tuple(cursor.fetchone())


def schema_copy_plan(*, template: str) -> SchemaCopyPlan:
    """The plan for `template`, read again when its migrations changed (its version)."""
    version = schema_version(schema=template)
    if version is None:
        raise InvalidInput(f"the template schema '{template}' does not exist", field="template")
    with _plans_lock:
        plan = _plans.get(template)
        if plan is None or plan.version != version:
            plan = _plans[template] = _plan_read(template=template, version=version)
    return plan


def search_path_forget() -> None:
    """django-tenants sets its search_path again at the next query (it caches what it set last)."""
    connection.search_path_set_schemas = None  # type: ignore[attr-defined]


def _plan_read(*, template: str, version: tuple) -> SchemaCopyPlan:
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT oid, quote_ident(nspname) FROM pg_namespace WHERE nspname = %s", [template])
        namespace, quoted = cursor.fetchone()
        names = {"ns": namespace, "schema": template}
        # As PostgreSQL's definitions name it (quoted only where needed).
        qualified = f"{quoted}."
        cursor.execute(_UNHANDLED, names)
        unhandled = [f"{count} {kind}" for kind, count in cursor.fetchall() if count]
        if unhandled:
            raise InvalidInput(
                f"the template schema holds what a copy cannot make: {', '.join(unhandled)}", field="template"
            )
        # The template alone on the path: the definitions name its objects unqualified.
        cursor.execute("SELECT set_config('search_path', %s, true)", [quote(template)])
        cursor.execute(_FUNCTIONS, names)
        functions = [
            definition.replace(f"FUNCTION {qualified}", "FUNCTION ", 1) for (definition,) in cursor.fetchall()
        ]
        cursor.execute(_SEQUENCES, names)
        sequence_rows = cursor.fetchall()
        sequences = [_sequence_ddl(*row[:-1]) for row in sequence_rows]
        # (sequence, its identity column's table and column or NULLs, value) of those with a value.
        values = [
            (name, table if dependency == "i" else None, column, last)
            for name, *_options, table, column, dependency, _identity, last in sequence_rows
            if last is not None
        ]
        cursor.execute(_TABLES, names)
        tables = cursor.fetchall()
        cursor.execute(_CONSTRAINTS, names)
        constraints = cursor.fetchall()
        cursor.execute(_INDEXES, names)
        # An index's and a trigger's definitions name their table qualified whatever the path.
        indexes = [
            _unqualified(definition, f"{qualified}{table}", table) for table, definition in cursor.fetchall()
        ]
        cursor.execute(_TRIGGERS, names)
        triggers = [
            _unqualified(definition, f"{qualified}{table}", table) for table, definition in cursor.fetchall()
        ]
        rows = _rows_copy(cursor, template=template, tables=tables)
    search_path_forget()

    def added(kinds: str) -> list[str]:
        return [
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
            for table, name, kind, definition in constraints
            if kind in kinds
        ]

    return SchemaCopyPlan(
        version=version,
        structure=(
            *functions,
            *(
                f"CREATE TABLE {quote(name)} (LIKE {quote(template)}.{quote(name)} {_LIKE})"
                for _oid, name in tables
            ),
            *sequences,
        ),
        rows=tuple(rows),
        values=_values_set(values),
        constraints=(*added("pux"), *indexes, *added("f"), *triggers),
    )


def _unqualified(definition: str, qualified: str, table: str) -> str:
    """`definition` with its ` ON <schema>.<table> ` made ` ON <table> `."""
    for before, after in (
        (f" ON {qualified} ", f" ON {table} "),
        (f" ON ONLY {qualified} ", f" ON ONLY {table} "),
    ):
        if before in definition:
            return definition.replace(before, after, 1)
    raise InvalidInput(f"cannot read the table out of '{definition[:200]}'", field="template")


def _sequence_ddl(
    name, type_name, start, increment, minimum, maximum, cache, cycle, table, column, dependency, identity
) -> str:
    quote = connection.ops.quote_name
    options = (
        f"INCREMENT BY {int(increment)} MINVALUE {int(minimum)} MAXVALUE {int(maximum)} "
        f"START WITH {int(start)} CACHE {int(cache)} {'CYCLE' if cycle else 'NO CYCLE'}"
    )
    if dependency == "i":
        kind = "ALWAYS" if identity == "a" else "BY DEFAULT"
        return (
            f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} ADD GENERATED {kind} AS IDENTITY "
            f"(SEQUENCE NAME {quote(name)} {options})"  # of the column's type, as the template's
        )
    owned = f" OWNED BY {quote(table)}.{quote(column)}" if dependency == "a" else ""
    return f"CREATE SEQUENCE {quote(name)} AS {type_name} {options}{owned}"


def _rows_copy(cursor, *, template: str, tables: list[tuple[int, str]]) -> list[str]:
    """The INSERTs that copy the template's rows, for its tables that have any."""
    quote = connection.ops.quote_name
    if not tables:
        return []
    which = " UNION ALL ".join(
        f"SELECT {oid}::oid WHERE EXISTS (SELECT FROM {quote(template)}.{quote(name)})"  # noqa: S608
        for oid, name in tables
    )
    columns = (
        "SELECT c.relname, array_agg(a.attname ORDER BY a.attnum) FROM pg_class c JOIN pg_attribute a "  # noqa: S608
        "ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        f"WHERE c.oid IN ({which}) GROUP BY c.relname ORDER BY c.relname"
    )
    cursor.execute(columns)
    inserts = []
    for name, columns in cursor.fetchall():
        listed = ", ".join(quote(column) for column in columns)
        inserts.append(
            f"INSERT INTO {quote(name)} ({listed}) OVERRIDING SYSTEM VALUE "  # noqa: S608
            f"SELECT {listed} FROM {quote(template)}.{quote(name)}"
        )
    return inserts


def _values_set(values: list[tuple]) -> str:
    """One SELECT that sets each sequence of the copy where the template's stands."""
    quote = connection.ops.quote_name
    calls = []
    for sequence, table, column, last_value in values:
        if table is None:
            target = "'" + quote(sequence).replace("'", "''") + "'"
        else:
            table_name = "'" + quote(table).replace("'", "''") + "'"
            target = f"pg_get_serial_sequence({table_name}, '" + column.replace("'", "''") + "')"
        calls.append(f"setval({target}, {int(last_value)}, true)")
    return f"SELECT {', '.join(calls)}" if calls else ""
