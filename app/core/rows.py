"""Rows as typed values: a query's row (Piccolo's dict, asyncpg's Record) as a msgspec Struct."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias, TypeVar

import asyncpg
import msgspec

T = TypeVar("T", bound=msgspec.Struct)
Row: TypeAlias = Mapping[str, object] | asyncpg.Record


def as_struct(cls: type[T], row: Row) -> T:
    """One row as `cls` (columns the Struct does not name are ignored; types are checked)."""
    return msgspec.convert(dict(row.items()), cls)


def as_structs(cls: type[T], rows: Iterable[Row]) -> list[T]:
    """Every row as `cls`, in order."""
    return [msgspec.convert(dict(row.items()), cls) for row in rows]
