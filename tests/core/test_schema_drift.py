"""The Piccolo tables are the schema's truth: every table the migrations build has a Table
class in a registered Piccolo app, with the same columns, types and nullability."""

from __future__ import annotations

import re
from typing import Any

from piccolo.columns import Array, Column, Numeric, Varchar
from piccolo.table import Table

# Migrated tables with no Table class, each with its reason.
INTERNAL_TABLES = {
    "migration": "Piccolo's own record of applied migrations (piccolo.apps.migrations)",
}

# Piccolo column types as PostgreSQL names them (pg_type.typname, information_schema udt_name).
UDT = {
    "UUID": "uuid",
    "TEXT": "text",
    "VARCHAR": "varchar",
    "CHAR": "bpchar",
    "TIMESTAMPTZ": "timestamptz",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "bool",
    "INTEGER": "int4",
    "SERIAL": "int4",
    "BIGINT": "int8",
    "BIGSERIAL": "int8",
    "SMALLINT": "int2",
    "NUMERIC": "numeric",
    "JSONB": "jsonb",
    "JSON": "json",
    "DATE": "date",
    "DOUBLE PRECISION": "float8",
    "REAL": "float4",
    "BYTEA": "bytea",
    "INTERVAL": "interval",
    "TIME": "time",
    "INET": "inet",
}


def tables() -> dict[str, type[Table]]:
    from app.piccolo_conf import APP_REGISTRY  # reads the settings the test session sets

    found: dict[str, type[Table]] = {}
    for config in APP_REGISTRY.app_configs.values():
        for table in config.table_classes:
            name = table._meta.tablename
            assert name not in found, f"{name} has two Table classes"
            found[name] = table
    return found


def expected_udt(column: Column) -> str:
    if isinstance(column, Array):
        return "_" + expected_udt(column.base_column)
    kind = re.sub(r"\(.*\)$", "", column.column_type).strip()
    return UDT.get(kind, kind.lower())


def describe(column: Column) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "type": expected_udt(column),
        "nullable": bool(column._meta.null) and not column._meta.primary_key,
    }
    if isinstance(column, Varchar):
        shape["length"] = column.length
    if isinstance(column, Numeric) and column.digits:
        shape["digits"] = tuple(column.digits)
    return shape


async def live_schema(conn: Any) -> dict[str, dict[str, dict[str, Any]]]:
    rows = await conn.fetch(
        """
        select c.table_name, c.column_name, c.udt_name, c.is_nullable,
               c.character_maximum_length, c.numeric_precision, c.numeric_scale
          from information_schema.columns c
          join information_schema.tables t
            on t.table_schema = c.table_schema and t.table_name = c.table_name
         where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
         order by c.table_name, c.ordinal_position
        """
    )
    schema: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        shape: dict[str, Any] = {"type": r["udt_name"], "nullable": r["is_nullable"] == "YES"}
        if r["udt_name"] in ("varchar", "bpchar"):
            shape["length"] = r["character_maximum_length"]
        if r["udt_name"] == "numeric" and r["numeric_precision"] is not None:
            shape["digits"] = (r["numeric_precision"], r["numeric_scale"])
        schema.setdefault(r["table_name"], {})[r["column_name"]] = shape
    return schema


async def test_piccolo_tables_match_the_migrated_schema(owner_conn: Any) -> None:
    live = await live_schema(owner_conn)
    mine = tables()
    problems = []
    for name in sorted(set(live) - set(mine) - set(INTERNAL_TABLES)):
        problems.append(f"{name}: migrated, but no Piccolo Table class")
    for name in sorted(set(mine) - set(live)):
        problems.append(f"{name}: a Table class, but the migrations build no such table")
    for name in sorted(set(mine) & set(live)):
        declared = {c._meta.db_column_name: describe(c) for c in mine[name]._meta.columns}
        for column in sorted(set(live[name]) - set(declared)):
            problems.append(f"{name}.{column}: in the database, not in the Table class")
        for column in sorted(set(declared) - set(live[name])):
            problems.append(f"{name}.{column}: in the Table class, not in the database")
        for column in sorted(set(declared) & set(live[name])):
            if declared[column] != live[name][column]:
                problems.append(
                    f"{name}.{column}: Table says {declared[column]},"
                    f" database has {live[name][column]}"
                )
    assert not problems, "schema drift:\n" + "\n".join(problems)


def test_internal_tables_are_not_also_declared() -> None:
    assert not set(INTERNAL_TABLES) & set(tables())
