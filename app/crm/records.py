"""The steps contacts and companies share when they are changed: the locked row an edit or
delete is decided on, the version check, the versioned update, the timeline entry, and the
delete with the record's notes and tasks. Call inside the caller's tenant transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from app.accounts.schemas import Current
from app.core.errors import RecordNotFound
from app.crm.activity import edit_conflict, record_activity, stale_page
from app.crm.common import conn, readable


async def locked_row(table: str, kind: str, record_id: UUID) -> asyncpg.Record:
    """The record, locked until the transaction ends (an edit or delete is decided on it)."""
    row = await conn().fetchrow(f"select * from {table} where id = $1 for update", record_id)
    if row is None:
        raise RecordNotFound(kind)
    return row


async def refuse_old_edit(
    kind: str,
    record_id: UUID,
    before: dict[str, Any],
    data: dict[str, Any],
    fields: tuple[str, ...],
    version: int,
) -> None:
    """EditConflict when the record moved on since `version`, the one the form was made from."""
    if before["version"] != version:
        raise await edit_conflict(
            kind,
            record_id,
            kind,
            await readable(before),
            await readable(data),
            fields,
            before["version"],
        )


async def save_edit(
    table: str,
    kind: str,
    record_id: UUID,
    version: int,
    columns: Sequence[str],
    values: Sequence[Any],
) -> None:
    """Write `columns` = `values` and the next version, if the row is still at `version`."""
    assignments = ", ".join(f"{col} = ${n}" for n, col in enumerate(columns, 3))
    saved = await conn().execute(
        f"update {table} set {assignments}, version = version + 1, updated_at = now()"
        " where id = $1 and version = $2",
        record_id,
        version,
        *values,
    )
    if saved != "UPDATE 1":  # the row lock makes this unreachable; never say "saved"
        raise RecordNotFound(kind)


async def log_changes(
    current: Current, kind: str, record_id: UUID, changes: dict[str, dict[str, Any]]
) -> None:
    """The timeline entry of an edit, naming the fields it changed (none: no entry)."""
    if changes:
        await record_activity(
            current.tenant_id,
            current.user_id,
            kind,
            record_id,
            "updated",
            "changed " + ", ".join(k.removesuffix("_id").replace("_", " ") for k in changes),
            changes,
        )


async def refuse_stale_delete(
    kind: str, record_id: UUID, before: dict[str, Any], version: int
) -> None:
    """EditConflict when the record moved on since the confirmation page showed `version`."""
    if before["version"] != version:
        raise await stale_page(kind, record_id, kind, before["version"])


async def delete_with_notes(
    current: Current, table: str, kind: str, record_id: UUID, name: str
) -> None:
    """Delete the record with its notes and tasks; the timeline keeps a record of it."""
    c = conn()
    await c.execute(
        f"delete from notes where subject_type = '{kind}' and subject_id = $1", record_id
    )
    await c.execute(
        f"delete from tasks where subject_type = '{kind}' and subject_id = $1", record_id
    )
    await c.execute(f"delete from {table} where id = $1", record_id)
    await record_activity(
        current.tenant_id, current.user_id, kind, record_id, "deleted", f"deleted the {kind} {name}"
    )
