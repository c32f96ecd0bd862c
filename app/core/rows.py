"""Typed rows: a database row (a Piccolo dict or an asyncpg Record) or another Struct's fields
as a msgspec Struct, a column's values as a typed list, a picker's (id, label) pairs, a
command's row count; a Piccolo select list read off a Struct's fields; a new row inserted with
what the database fills itself left to it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias, TypeVar

import asyncpg
import msgspec
from piccolo.querystring import QueryString, Selectable
from piccolo.table import Table

T = TypeVar("T")
# A Piccolo insert names every column: this leaves one to the database (its default, the
# transaction's now(), or a generated column's expression), as an SQL insert leaving it out.
DEFAULT = QueryString("DEFAULT")
NOW = QueryString("now()")  # the transaction's time, as the database's defaults use
Row: TypeAlias = Mapping[str, object] | asyncpg.Record


class Fields(dict[str, object]):
    """A row as a dict whose keys also read as attributes: a template's `row.name` finds it at
    once (Jinja tries getattr first; on a plain dict that raises, then it looks the key up:
    on a list page of 50 rows that was 14 % of the request). A missing key is an
    AttributeError, as on a dict, so templates see the same values and the same undefined."""

    __slots__ = ()

    def __getattr__(self, name: str) -> object:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def row_as(cls: type[T], row: Row) -> T:
    """One row as `cls` (a msgspec Struct); its fields are checked against the row's values
    (columns the Struct does not name are ignored)."""
    return msgspec.convert(dict(row.items()), cls)


def struct_as(cls: type[T], source: msgspec.Struct, **values: object) -> T:
    """The fields of `source` (a form, a row's Struct) that `cls` names, with `values` over
    them, as `cls` (a msgspec Struct), each checked against its type."""
    return msgspec.convert({**msgspec.structs.asdict(source), **values}, cls)


def rows_as(cls: type[T], rows: Iterable[Row]) -> list[T]:
    """Rows as a list of `cls`, in order."""
    return [row_as(cls, r) for r in rows]


def maybe_row_as(cls: type[T], row: Row | None) -> T | None:
    """A row as `cls`, or None when there is none."""
    return None if row is None else row_as(cls, row)


async def fetch_as(conn: asyncpg.Connection, cls: type[T], sql: str, *args: object) -> list[T]:
    """The rows a query answers, as a list of `cls` in order."""
    return rows_as(cls, await conn.fetch(sql, *args))


async def fetch_one_as(conn: asyncpg.Connection, cls: type[T], sql: str, *args: object) -> T | None:
    """The row a query answers as `cls`, or None when it answers none."""
    return maybe_row_as(cls, await conn.fetchrow(sql, *args))


async def fetch_values(conn: asyncpg.Connection, cls: type[T], sql: str, *args: object) -> list[T]:
    """The first column of the rows a query answers, each as `cls`, in order."""
    return [msgspec.convert(r[0], cls) for r in await conn.fetch(sql, *args)]


async def fetch_value(conn: asyncpg.Connection, cls: type[T], sql: str, *args: object) -> T:
    """The one value a query answers (a count, a flag, a returned column), as `cls`."""
    return msgspec.convert(await conn.fetchval(sql, *args), cls)


async def answers(conn: asyncpg.Connection, sql: str, *args: object) -> bool:
    """Whether a query (or a command with RETURNING) answers any row."""
    return await conn.fetchrow(sql, *args) is not None


async def execute_count(conn: asyncpg.Connection, sql: str, *args: object) -> int:
    """Run a command (insert, update, delete); how many rows it touched (its status's count)."""
    status: str = await conn.execute(sql, *args)
    return int(status.split()[-1])


Choices: TypeAlias = list[tuple[str, str]]  # (id, label) pairs of a form's picker


async def fetch_choices(conn: asyncpg.Connection, sql: str, *args: object) -> Choices:
    """A picker's (id, label) pairs: the first two columns of the rows a query answers."""
    return [(str(r[0]), str(r[1])) for r in await conn.fetch(sql, *args)]


def columns_of(
    cls: type[msgspec.Struct], table: type[Table], **named: Selectable
) -> list[Selectable]:
    """The select list of `table` that answers rows of `cls`, in its fields' order: a field is
    the column `named` gives for it (a joined column, an expression), under the field's name,
    or else `table`'s column of that name. The Struct is the one list of what is read."""
    return [
        named[f.name].as_alias(f.name)
        if f.name in named
        else table._meta.get_column_by_name(f.name)
        for f in msgspec.structs.fields(cls)
    ]


async def insert_new(table: type[Table], **values: object) -> None:
    """Insert one row of `table` with `values`; every column they do not name is left to the
    database (DEFAULT), as an SQL insert leaving it out."""
    row: dict[str, Any] = {c._meta.name: DEFAULT for c in table._meta.columns}
    row.update(values)
    await table.insert(table(**row))
