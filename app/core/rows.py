"""Typed rows: a database row (a Piccolo dict or an asyncpg Record) as a msgspec Struct."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

import msgspec

T = TypeVar("T")


def row_as(cls: type[T], row: Mapping[str, object]) -> T:
    """One row as `cls` (a msgspec Struct); its fields are checked against the row's values."""
    return msgspec.convert(dict(row.items()), cls)


def rows_as(cls: type[T], rows: Iterable[Mapping[str, object]]) -> list[T]:
    """Rows as a list of `cls`."""
    return [row_as(cls, r) for r in rows]


def maybe_row_as(cls: type[T], row: Mapping[str, object] | None) -> T | None:
    """A row as `cls`, or None when there is none."""
    return None if row is None else row_as(cls, row)
