"""Keyset pagination, the one home of it: pages ordered by an indexed key, cursors that encode
the edge row's key (opaque url-safe strings), a malformed cursor showing the first page.

`window_page` serves every paged list (contacts, companies, deals, invoices, the notification
feed, the My-data sections): a `Window` (order, cursor, size) goes from the route to the query
whole; `keyset_page` is the same with the window's parts given one by one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec

# a key value a cursor carries, as DECODERS read it back ("text" stays a str)
CursorValue = datetime | date | UUID | int | Decimal | str  # bool: an int


@dataclass(frozen=True)
class SortSpec:
    """An ordering that an index serves: SQL expressions, their kinds, and the direction."""

    label: str
    exprs: tuple[str, ...]
    # "text" | "ts" | "date" | "uuid" | "int" | "decimal" | "bool": to read a cursor back
    kinds: tuple[str, ...]
    descending: bool = False


@dataclass(frozen=True)
class Window:
    """Which page of a list is asked for: its order, the cursor it comes after or before (none:
    the first page), and how many rows at the most. It travels whole from a list's route to
    its query."""

    spec: SortSpec
    after: str | None = None
    before: str | None = None
    limit: int = 50


# the order of a log's or a person's rows: the latest written first
NEWEST_FIRST = SortSpec("Newest first", ("created_at", "id"), ("ts", "uuid"), descending=True)


@dataclass
class Page:
    rows: list[dict[str, object]]
    next_cursor: str | None = None
    prev_cursor: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


class Params:
    """Collects positional parameters and hands out their $n placeholders. Made `sharing`, it
    also collects common table expressions that the conditions name (`share`): a statement
    that holds the same condition twice (a list page and its count) computes them once; the
    statement then starts with `prefix()`."""

    def __init__(self, sharing: bool = False) -> None:
        self.values: list[object] = []
        self.ctes: list[str] | None = [] if sharing else None

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def share(self, sql: str) -> str | None:
        """The name of a materialized CTE of `sql` (a query), or None when not sharing."""
        if self.ctes is None:
            return None
        name = f"_shared{len(self.ctes)}"
        self.ctes.append(f"{name} as materialized ({sql})")
        return name

    def prefix(self) -> str:
        """The statement's `with ...` (empty when nothing is shared)."""
        return f"with {', '.join(self.ctes)} " if self.ctes else ""


def encode_cursor(values: Sequence[object]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime | date) else str(v) for v in values]
    return base64.urlsafe_b64encode(msgspec.json.encode(plain)).decode().rstrip("=")


def decode_cursor(cursor: str, spec: SortSpec) -> list[CursorValue] | None:
    """The key values of a cursor, or None when it is malformed (then the first page is shown)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        items = msgspec.json.decode(raw, type=list[str])
        if len(items) != len(spec.exprs):
            return None
        values: list[CursorValue] = []
        for item, kind in zip(items, spec.kinds, strict=True):
            values.append(DECODERS.get(kind, str)(item))
        return values
    except (ValueError, KeyError, binascii.Error, msgspec.DecodeError, ArithmeticError):
        return None


# date.max is PostgreSQL's 'infinity' date for asyncpg, both ways
DECODERS: dict[str, Callable[[str], CursorValue]] = {
    "ts": datetime.fromisoformat,
    "date": date.fromisoformat,
    "uuid": UUID,
    "int": int,
    "decimal": Decimal,
    "bool": lambda text: {"True": True, "False": False}[text],  # a KeyError: malformed
}


def like_pattern(query: str) -> str:
    """A LIKE pattern matching `query` anywhere, with LIKE's wildcards escaped."""
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def keyset_page(
    conn: asyncpg.Connection,
    *,
    select: str,
    from_sql: str,
    where: list[str],
    params: Params,
    spec: SortSpec,
    after: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> Page:
    """One page of `select ... from ... where ...` in `spec` order, after or before a cursor
    (`window_page` with the window's parts given one by one)."""
    window = Window(spec, after, before, limit)
    return await window_page(
        conn, window, select=select, from_sql=from_sql, where=where, params=params
    )


async def rows_of(
    conn: asyncpg.Connection, window: Window, *, select: str, table: str, column: str, value: object
) -> Page:
    """One page of the rows of `table` whose `column` is `value` (a person's notifications,
    the audit entries of an actor): the one the `window` asks for."""
    params = Params()
    where = [f"{column} = {params.add(value)}"]
    return await window_page(
        conn, window, select=select, from_sql=table, where=where, params=params
    )


def _rows_asked(limit: int) -> int:
    """The LIMIT of a page's statement (one more row than shown: is there a next page?),
    written as a literal: with a parameter there, PostgreSQL's generic plan of the prepared
    statement guesses a tenth of the table for it, costs more than the custom plans and is
    never chosen, so every run was planned again (0.27 ms of the contact list's 0.5 ms in
    PostgreSQL); with the literal the generic plan is the custom one and is kept."""
    return int(limit) + 1  # an int: nothing but digits reaches the SQL


async def window_page(
    conn: asyncpg.Connection,
    window: Window,
    *,
    select: str,
    from_sql: str,
    where: list[str],
    params: Params,
    total: str | None = None,
    narrow: str | None = None,
    count_all: bool = False,
) -> Page:
    """One page of `select ... from ... where ...`: the one the `window` asks for; with
    `total` (a scalar SQL expression, computed once for the statement) its value goes to
    `extra["total"]` (None when the page has no rows).

    With `narrow` (the SQL of a listed row's unique key, e.g. "c.id") the page's keys are
    picked first, ordered and limited, and only those rows are then read whole with their
    joins: a page that sorts many matches (a search) joins and reads the wide columns of
    its 51 rows instead of every match's. With `count_all` too (instead of `total`), the
    statement counts every row of the view as it orders them (a window count taken before
    the cursor's condition), in `extra["total"]`: any page of a search reads its matches
    once, where a count beside the page read them all twice."""
    spec, after, before, limit = window.spec, window.after, window.before, window.limit
    backward = bool(before) and not after
    cursor = (
        decode_cursor((before if backward else after) or "", spec) if (after or before) else None
    )
    conditions = list(where)
    keys = ", ".join(spec.exprs)
    names = ", ".join(f"_k{i}" for i in range(len(spec.exprs)))
    past = ""  # the cursor's condition on the keys' names (_k0, ...), for count_all
    if cursor is not None:
        placeholders = ", ".join(params.add(v) for v in cursor)
        forward_op = "<" if spec.descending else ">"
        backward_op = ">" if spec.descending else "<"
        op = backward_op if backward else forward_op
        conditions.append(f"({keys}) {op} ({placeholders})")
        past = f" where ({names}) {op} ({placeholders})"
    descending = spec.descending != backward
    direction = " desc" if descending else ""
    order = ", ".join(f"{e}{direction}" for e in spec.exprs)
    key_cols = ", ".join(f"{e} as _k{i}" for i, e in enumerate(spec.exprs))
    filtered = f"where {' and '.join(conditions) or 'true'} order by {order}"
    if narrow:
        if count_all:  # every match keyed and counted once, then the cursor's page of them
            total = "_total"
            matches = (
                f"select {narrow} as _key, {key_cols}, count(*) over () as _total"
                f" from {from_sql} where {' and '.join(where) or 'true'}"
            )
            by_names = ", ".join(f"_k{i}{direction}" for i in range(len(spec.exprs)))
            page_cte = (
                f"_page as materialized (select _key, _total from ({matches}) as _matches"
                f"{past} order by {by_names} limit {_rows_asked(limit)})"
            )
        else:
            picked = f"{narrow} as _key" + (f", {total} as _total" if total else "")
            page_cte = (
                f"_page as materialized (select {picked} from {from_sql} {filtered}"
                f" limit {_rows_asked(limit)})"
            )
        prefix = params.prefix()
        prefix = f"{prefix[:-1]}, {page_cte} " if prefix else f"with {page_cte} "
        key_cols += ", _page._total" if total else ""
        sql = (
            f"{prefix}select {select}, {key_cols} from {from_sql}"
            f" join _page on _page._key = {narrow} order by {order}"
        )
    else:
        key_cols += f", {total} as _total" if total else ""
        sql = (
            f"{params.prefix()}select {select}, {key_cols} from {from_sql} {filtered}"
            f" limit {_rows_asked(limit)}"
        )
    records = await conn.fetch(sql, *params.values)
    more = len(records) > limit
    records = records[:limit]
    if backward:
        records = list(reversed(records))
    key_names = [f"_k{i}" for i in range(len(spec.exprs))]
    hidden = {*key_names, "_total"} if total else set(key_names)

    def key_of(record: asyncpg.Record) -> str:
        return encode_cursor([record[k] for k in key_names])

    page = Page([{k: v for k, v in r.items() if k not in hidden} for r in records])
    if total:
        page.extra["total"] = records[0]["_total"] if records else None
    if records:
        if backward:
            page.prev_cursor = key_of(records[0]) if more else None
            page.next_cursor = key_of(records[-1])
        else:
            page.next_cursor = key_of(records[-1]) if more else None
            page.prev_cursor = key_of(records[0]) if cursor is not None else None
    return page
