"""Edits of versioned rows (app.core.columns.Versioned): written only over the version the
editor saw, the version bumped by the same statement (no lost updates)."""

from __future__ import annotations

from collections.abc import Mapping

from piccolo.columns import Column, Integer
from piccolo.table import Table


async def update_at_version(
    table: type[Table], record_id: object, version: int, values: Mapping[str, object]
) -> dict[str, object] | None:
    """Write `values` (by column name) to the row `record_id` if it is still at `version`,
    bumping the version; the row as saved, or None when it is gone or was saved meanwhile."""
    column = table._meta.get_column_by_name("version")
    assert isinstance(column, Integer), f"{table._meta.tablename} has no version column"
    changes: dict[Column | str, object] = {column: column + 1}
    changes.update(values.items())
    rows = await (
        table.update(changes)
        .where((table._meta.primary_key == record_id) & (column == version))
        .returning(*table.all_columns())
    )
    return rows[0] if rows else None
